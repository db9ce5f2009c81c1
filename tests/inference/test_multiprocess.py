"""Real processes sharing one SQLite file fold into the same profiles."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

import pytest

from outcomes.inference import OutcomeTracker, ProfileBook, ProfileState, rebuild
from outcomes.records import Signal
from outcomes.store import open_store


def worker(args: tuple[str, int]) -> dict[str, Any]:
    url, seed = args
    rng = random.Random(seed)
    store = open_store(url)
    tracker = OutcomeTracker(store)
    traces = []
    for _ in range(300):
        t = tracker.record_start(rng.choice("abc"), rng.choice(["code", "generate"]), "r")
        if rng.random() < 0.1:
            tracker.record_failure(t, "429 slow down")
            continue
        tracker.record_complete(t, rng.uniform(10, 3000), rng.randint(1, 500), rng.randint(0, 3))
        traces.append(t)
    for i, t in enumerate(traces[::4]):
        verdict = rng.choice(["accepted", "rejected", "accepted_with_edits"])
        tracker.record_signal(Signal(f"{seed}-{i}", t, "conversation", verdict, 0.0, 0.8))
    tracker.close()
    store.close()
    return tracker.state().to_json()


@pytest.mark.slow
def test_three_processes_fold_into_the_profiles_every_reader_sees(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    open_store(url).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        states = pool.map(worker, [(url, s) for s in (1, 2, 3)])
    merged = ProfileState()
    for data in states:
        merged.merge(ProfileState.from_json(data))
    store = open_store(url)
    try:
        rebuilt = rebuild(store)
        assert rebuilt.summary() == merged.summary()
        book_one, book_two = ProfileBook(store), ProfileBook(store)
        for model in "abc":
            one, two = book_one.profile(model), book_two.profile(model)
            assert one is not None
            assert two is not None
            assert (one.calls, one.successes, one.failures) == (
                two.calls,
                two.successes,
                two.failures,
            )
        assert sum(p.calls for p in book_one.profiles()) == 900
    finally:
        store.close()
