"""``outcomes init``: create the home folder and the store, and apply every migration."""

from __future__ import annotations

from outcomes import config
from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli import _common as cli

app = cli.new_app()


@app.command("init")
def init(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Create the home folder and the store, and apply every migration."""
    home = config.home()
    if home.exists() and not home.is_dir():
        raise cli.fail(f"{config.ENV_HOME} is {home}, which is not a folder", cli.EXIT_STORE)
    try:
        home.mkdir(parents=True, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise cli.fail(cli.os_error_text(exc), cli.EXIT_STORE) from exc
    with cli.opened_store(db) as store:
        applied = store.migrate(ALL_MIGRATIONS)
        url = store.url
        version = store.migration_status(ALL_MIGRATIONS).schema_version
    if json:
        cli.print_json(
            {"store": url, "home": str(home), "applied": applied, "schema_version": version}
        )
        return
    cli.console.print(f"store ready: [bold]{url}[/] (schema {version})")
    if applied:
        cli.console.print(f"applied {len(applied)} migrations")
