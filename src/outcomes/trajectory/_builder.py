"""Collecting steps in the order they happen: a builder, and a null builder that does nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from outcomes.trajectory._steps import AnyStep
from outcomes.trajectory._wire import (
    DEFAULT_REGISTRY,
    MAX_STEPS,
    StepRegistry,
    dumps_steps,
    steps_to_wire,
)


class TrajectoryBuilder:
    """An ordered collector of steps for one pipeline run.

    ``push`` only appends (no validation, no copying), so it is cheap enough for a hot
    path; steps are validated where they enter from outside (:func:`loads_steps`,
    ``TrajectoryStore.import_json``). Code that records a trajectory only sometimes
    takes a ``TrajectoryBuilder`` and is handed a :class:`NullTrajectoryBuilder` otherwise;
    ``enabled`` lets it skip building expensive steps.

    Memory is bounded: past ``max_steps`` (default :data:`MAX_STEPS`, the most a store
    accepts) further steps are dropped and counted in :attr:`dropped`; ``push`` never raises.
    """

    __slots__ = ("_max", "_steps", "dropped", "registry")

    enabled: ClassVar[bool] = True

    def __init__(self, registry: StepRegistry | None = None, *, max_steps: int = MAX_STEPS) -> None:
        self._steps: list[AnyStep] = []
        self._max = max_steps
        self.dropped = 0
        self.registry = registry if registry is not None else DEFAULT_REGISTRY

    def push(self, step: AnyStep) -> None:
        """Append ``step``; push order is the trajectory's order."""
        if len(self._steps) < self._max:
            self._steps.append(step)
        else:
            self.dropped += 1

    @property
    def steps(self) -> Sequence[AnyStep]:
        """The steps pushed so far (a read-only view; do not mutate)."""
        return self._steps

    def is_empty(self) -> bool:
        return not self._steps

    def __len__(self) -> int:
        return len(self._steps)

    def into_json(self, *, seed_shape: bool = False) -> list[dict[str, Any]]:
        """The wire array: one object per push, tagged by ``"kind"`` (see docs/trajectory.md).

        ``seed_shape=True`` leaves out the additive ``seq``/``started_at``/``duration_ms``.
        """
        return steps_to_wire(self._steps, self.registry, seed_shape=seed_shape)

    def to_json_text(self, *, seed_shape: bool = False) -> str:
        """The wire array as compact JSON text."""
        return dumps_steps(self._steps, self.registry, seed_shape=seed_shape)


class NullTrajectoryBuilder(TrajectoryBuilder):
    """A builder that accepts steps and keeps none: pass it when nobody wants the trajectory."""

    __slots__ = ()

    enabled: ClassVar[bool] = False

    def push(self, step: AnyStep) -> None:
        """Accept ``step`` and drop it."""
