"""``outcomes init``: create the home folder and the store, and apply every migration."""

from __future__ import annotations

from outcomes import config
from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli._common import (
    EXIT_STORE,
    DbOption,
    JsonOption,
    console,
    fail,
    new_app,
    opened_store,
    os_error_text,
    print_json,
)

app = new_app()


@app.command("init")
def init(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """Create the home folder and the store, and apply every migration."""
    home = config.home()
    if home.exists() and not home.is_dir():
        raise fail(f"{config.ENV_HOME} is {home}, which is not a folder", EXIT_STORE)
    try:
        home.mkdir(parents=True, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise fail(os_error_text(exc), EXIT_STORE) from exc
    with opened_store(db) as store:
        applied = store.migrate(ALL_MIGRATIONS)
        url = store.url
        version = store.migration_status(ALL_MIGRATIONS).schema_version
    if json:
        print_json({"store": url, "home": str(home), "applied": applied, "schema_version": version})
        return
    console.print(f"store ready: [bold]{url}[/] (schema {version})")
    if applied:
        console.print(f"applied {len(applied)} migrations")
