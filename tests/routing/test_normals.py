"""The router's normal draws: numpy's stream, in blocks, so that a decision seldom lets go
of the GIL (benchmarks decide_under_load)."""

from __future__ import annotations

import math
import random
import threading
from typing import Any, cast

import numpy as np

from outcomes import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Router
from outcomes.routing._select import NORMALS_BLOCK, Normals


class CountingGenerator:
    """A numpy generator that counts its ``standard_normal`` calls."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def standard_normal(self, n: int) -> Any:
        self.calls += 1
        return self.rng.standard_normal(n)


def test_normals_come_in_the_order_the_generator_draws_them_whatever_the_sizes() -> None:
    normals = Normals(np.random.default_rng(5))
    sizes = [11, 1, 200, 3, 1500, 11, 7] * 40
    taken = [x for n in sizes for x in normals.take(n)]
    assert taken == np.random.default_rng(5).standard_normal(sum(sizes)).tolist()


def test_numpy_is_called_once_per_block_not_once_per_take() -> None:
    gen = CountingGenerator(1)
    normals = Normals(cast(np.random.Generator, gen))
    decisions = 10_000
    for _ in range(decisions):
        assert len(normals.take(11)) == 11
    assert gen.calls == math.ceil(decisions * 11 / NORMALS_BLOCK)


def test_threads_sharing_normals_never_get_the_same_draw() -> None:
    normals = Normals(np.random.default_rng(9))
    got: list[list[float]] = [[] for _ in range(4)]

    def take(into: list[float]) -> None:
        for _ in range(3_000):
            into.extend(normals.take(11))

    threads = [threading.Thread(target=take, args=(g,)) for g in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drawn = [x for g in got for x in g]
    assert len(drawn) == 4 * 3_000 * 11
    assert len(set(drawn)) == len(drawn)


def _settled_tracker() -> OutcomeTracker:
    """Eleven models m0..m10 with 60 outcomes each on ``code``: settled arms (alpha and
    beta past NORMAL_FROM), which Thompson draws as normals, with success rates close
    enough that the draws decide."""
    rng = random.Random(3)
    tracker = OutcomeTracker()
    for i in range(11):
        for _ in range(60):
            t = tracker.record_start(f"m{i}", "code")
            if rng.random() < 0.5 + i / 40:
                tracker.record_complete(t, 100.0, 10, 10)
            else:
                tracker.record_failure(t, "boom 500")
    tracker.refresh_view()
    return tracker


def test_router_choices_are_those_of_one_numpy_draw_per_decision() -> None:
    """Blocks change when numpy is called, not what is drawn: a router without them
    (a draw per decision, as before) makes the same seeded choices."""
    tracker = _settled_tracker()
    reg = ModelRegistry()
    for i in range(11):
        reg.add(ModelInfo(f"m{i}", "p", 1.0, 2.0, prior=0.5))
    routers = [Router(registry=reg, tracker=tracker, seed=7) for _ in range(2)]
    routers[1]._normals = None  # type: ignore[assignment]
    chosen = [[r.decide("code").model_id for _ in range(500)] for r in routers]
    assert chosen[0] == chosen[1]
    assert len(set(chosen[0])) > 2  # the draws decide here, not one clear leader


def test_a_router_calls_numpy_once_per_block_of_decisions() -> None:
    """What keeps a decision from letting go of the GIL: numpy is called for a block of
    normals, not once per decision (pools under 48 candidates)."""
    tracker = _settled_tracker()
    reg = ModelRegistry()
    for i in range(11):
        reg.add(ModelInfo(f"m{i}", "p", 1.0, 2.0, prior=0.5))
    router = Router(registry=reg, tracker=tracker, seed=1)
    gen = CountingGenerator(1)
    router._rng = cast(np.random.Generator, gen)
    router._normals = Normals(router._rng)
    for _ in range(1_000):
        router.decide("code")
    assert 0 < gen.calls <= math.ceil(1_000 * 11 / NORMALS_BLOCK)
