"""Where a router reads outcome statistics: the tracker, or any object of this shape.

The live router reads the tracker's published profile snapshot. The replay benchmark
gives the same :class:`~outcomes.routing.Router` a :class:`ProfileSource` of its own
(statistics kept from the replayed outcomes, with a clock that advances one unit per
decision), so what the benchmark measures is the router's own filter, score and select
code, not a reimplementation of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from outcomes._clock import Clock


class Snapshot(Protocol):
    """Profiles by task (``None``: over all tasks), then by model id; a profile has
    ``successes``, ``failures``, ``decayed_counts(now)``, ``cost_per_call`` and
    ``latency_p95_ms`` like :class:`outcomes.inference.ModelProfile`."""

    @property
    def by_task(self) -> Mapping[str | None, Mapping[str, Any]]: ...


class ProfileSource(Protocol):
    """What :class:`~outcomes.routing.Router` reads to decide: a snapshot of profiles
    (a new object when anything in it changed) and the clock that stamped them."""

    @property
    def clock(self) -> Clock: ...

    def snapshot(self, view: Literal["shared", "local"] = "shared") -> Snapshot: ...
