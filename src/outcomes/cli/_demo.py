"""``outcomes demo``: run a realistic simulated workload through the product and show it.

The demo is the README's main job. It is assembled from parts, one per capability; each
part is a module with ``run(ctx: DemoContext) -> None`` listed in :data:`PARTS`. Parts
work offline, need nothing from ``../shared``, and print tables rather than logs.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from outcomes.cli._common import DbOption, console, opened_store
from outcomes.store import BackgroundWriter, Store

PARTS: list[tuple[str, str]] = [
    # (title, module with run(ctx)); a capability adds its part with one line.
    ("Ledger", "outcomes.cli._demo_ledger"),
    ("Components", "outcomes.cli._demo_components"),
    ("Trajectories", "outcomes.cli._demo_trajectory"),
    ("Models", "outcomes.cli._demo_inference"),
    ("Routing", "outcomes.cli._demo_routing"),
    ("Shadow", "outcomes.cli._demo_shadow"),
    ("Signals", "outcomes.cli._demo_signals"),
]


@dataclass
class DemoContext:
    """What a demo part gets: the store, a writer, a console, a seeded RNG and a size."""

    store: Store
    writer: BackgroundWriter
    console: Console
    rng: random.Random
    calls: int
    seed: int
    started: float

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A progress bar; yields ``advance(n)``. Hidden when output is not a terminal."""
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        ) as bar:
            task = bar.add_task(description, total=total)

            def advance(n: int = 1) -> None:
                bar.advance(task, n)

            yield advance


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        calls: int = typer.Option(
            2_000, "--calls", min=10, max=5_000_000, help="Simulated model calls."
        ),
        seed: int = typer.Option(7, "--seed", help="Seed of the simulated workload."),
        db: str | None = DbOption,
        only: list[str] = typer.Option(
            [], "--only", help="Run only these parts (by title, case-insensitive)."
        ),
    ) -> None:
        """Run a simulated workload through every capability and show what it learned."""
        wanted = {o.lower() for o in only}
        start = time.perf_counter()
        with opened_store(db) as store:
            console.print(f"[bold]outcomes demo[/] - store: {store.kind} at {store.url}")
            writer = BackgroundWriter(store)
            try:
                for title, module_name in PARTS:
                    if wanted and title.lower() not in wanted:
                        continue
                    console.rule(f"[bold]{title}")
                    module = importlib.import_module(module_name)
                    ctx = DemoContext(
                        store=store,
                        writer=writer,
                        console=console,
                        rng=random.Random(f"{seed}:{title}"),
                        calls=calls,
                        seed=seed,
                        started=time.time(),
                    )
                    module.run(ctx)
                    writer.flush(timeout=60)
            finally:
                writer.close(timeout=60)
        console.print(f"[dim]demo finished in {time.perf_counter() - start:.1f}s[/]")
