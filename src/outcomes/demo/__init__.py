"""The demo: a realistic simulated workload through every capability, shown as tables.

``outcomes demo`` (what ``make run`` runs) is the README's main job. It writes to a store
of its own, ``demo.db`` in the home folder (or the URL it is given), never to the user's
``outcomes.db``: simulated receipts mixed with real ones would skew every profile and
routing decision built on them.

The demo is assembled from parts, one per capability; each part is a module with
``run(ctx: DemoContext) -> None`` listed in :data:`PARTS`. Parts work offline, need
nothing from ``../shared``, and print tables rather than logs. This package is not part of
the library's API; the simulators it drives live in :mod:`outcomes.testing`.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outcomes import config
from outcomes._files import check_path
from outcomes.errors import StoreUnavailableError, UnsafePathError
from outcomes.store import BackgroundWriter, Store

if TYPE_CHECKING:
    from rich.console import Console

DEMO_DB_FILENAME = "demo.db"
"""The demo's own SQLite file, beside the real store in the home folder."""

PARTS: list[tuple[str, str]] = [
    # (title, module with run(ctx)); a capability adds its part with one line.
    ("Ledger", "outcomes.demo._ledger"),
    ("Components", "outcomes.demo._components"),
    ("Trajectories", "outcomes.demo._trajectory"),
    ("Models", "outcomes.demo._models"),
    ("Routing", "outcomes.demo._routing"),
    ("History", "outcomes.demo._history"),
    ("Shadow", "outcomes.demo._shadow"),
    ("Signals", "outcomes.demo._signals"),
]


def demo_url(explicit: str | None = None) -> str:
    """Where the demo writes: ``explicit``, else ``demo.db`` in the home folder.

    ``OUTCOMES_DB_URL`` is deliberately not consulted: it names the real store. The
    default file gets the same link policy as ``outcomes.db`` (docs/security.md): a
    ``demo.db`` that is a symlink, or resolves outside the home folder, is refused with
    :class:`~outcomes.errors.StoreUnavailableError` rather than filled with simulated data.
    """
    if explicit:
        return explicit
    home = config.home()
    path = home / DEMO_DB_FILENAME
    try:
        check_path(path, root=home, explicit=False)
    except UnsafePathError as exc:
        raise StoreUnavailableError(f"refusing to write the demo: {exc}") from None
    return f"sqlite:///{path}"


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
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

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


def run(store: Store, console: Console, *, calls: int, seed: int, only: Sequence[str] = ()) -> None:
    """Run the parts (all, or those titled in ``only``, case-insensitive) on ``store``."""
    wanted = {o.lower() for o in only}
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
