"""The ``outcomes db`` group: schema migrations of the store."""

from __future__ import annotations

from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli._common import (
    DbOption,
    JsonOption,
    console,
    new_app,
    opened_store,
    print_json,
)

app = new_app(help="Schema migrations of the store.", no_args_is_help=True)


@app.command("migrate")
def migrate(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """Apply every pending migration (core and all capabilities)."""
    with opened_store(db) as store:
        applied = store.migrate(ALL_MIGRATIONS)
        status = store.migration_status(ALL_MIGRATIONS)
    if json:
        print_json({"applied": applied, "schema_version": status.schema_version})
        return
    if applied:
        for name in applied:
            console.print(f"applied [bold]{name}[/]")
    else:
        console.print("nothing to apply; the schema is up to date")


@app.command("status")
def status(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """Show applied, pending and unknown migrations."""
    with opened_store(db) as store:
        st = store.migration_status(ALL_MIGRATIONS)
        url = store.url
    if json:
        print_json(
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
    console.print(table)
