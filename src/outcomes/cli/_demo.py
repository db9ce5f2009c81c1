"""``outcomes demo``: a simulated workload through every capability, in a store of its own."""

from __future__ import annotations

import time

from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli import _common as cli
from outcomes.cli._framework import Option

app = cli.new_app()


@app.command("demo")
def demo(
    calls: int = Option(2_000, "--calls", min=10, max=5_000_000, help="Simulated model calls."),
    seed: int = Option(7, "--seed", help="Seed of the simulated workload."),
    store_url: str | None = Option(
        None,
        "--store",
        "--db",
        help="Store URL for the demo's data (default: demo.db in OUTCOMES_HOME, never the "
        "real outcomes.db).",
    ),
    only: list[str] = Option(
        [], "--only", help="Run only these parts (by title, case-insensitive)."
    ),
) -> None:
    """Run a simulated workload through every capability and show what it learned."""
    from outcomes import demo as parts

    url = parts.demo_url(store_url)
    start = time.perf_counter()
    with cli.opened_store(url) as store:
        # Every capability's tables, whichever parts run: the demo's store is a whole
        # store that `ledger verify`, `doctor` or `models --db` can read as it is.
        store.migrate(ALL_MIGRATIONS)
        cli.console.print(
            f"[bold]outcomes demo[/] writes to its own store: {store.url}", highlight=False
        )
        parts.run(store, cli.console, calls=calls, seed=seed, only=only)
    cli.console.print(f"[dim]demo finished in {time.perf_counter() - start:.1f}s[/]")
    cli.console.print(
        f"the demo's data is in {url}; see it with: outcomes models --db {url}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
