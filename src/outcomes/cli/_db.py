"""The ``outcomes db`` group: schema migrations of the store."""

from __future__ import annotations

from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli import _common as cli

app = cli.new_app(help="Schema migrations of the store.", no_args_is_help=True)


@app.command("migrate")
def migrate(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Apply every pending migration (core and all capabilities)."""
    with cli.opened_store(db) as store:
        applied = store.migrate(ALL_MIGRATIONS)
        status = store.migration_status(ALL_MIGRATIONS)
    if json:
        cli.print_json({"applied": applied, "schema_version": status.schema_version})
        return
    if applied:
        for name in applied:
            cli.console.print(f"applied [bold]{name}[/]")
    else:
        cli.console.print("nothing to apply; the schema is up to date")


@app.command("status")
def status(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Show applied, pending and unknown migrations."""
    with cli.opened_store(db) as store:
        st = store.migration_status(ALL_MIGRATIONS)
        url = store.url
    if json:
        cli.print_json(
            {
                "store": url,
                "schema_version": st.schema_version,
                "applied": [{"name": n, "applied_at": t} for n, t in st.applied],
                "pending": list(st.pending),
                "unknown": list(st.unknown),
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"migrations of {url}")
    table.add_column("migration")
    table.add_column("state")
    for name, _ in st.applied:
        table.add_row(
            name, "[yellow]unknown to this version[/]" if name in st.unknown else "applied"
        )
    for name in st.pending:
        table.add_row(name, "[red]pending[/]")
    cli.console.print(table)
