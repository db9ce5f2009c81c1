"""The builder, the null builder, and user-registered step kinds."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Annotated, ClassVar

import pytest

from outcomes.errors import ValidationError
from outcomes.trajectory import (
    F32,
    ChunksRetrieved,
    NullTrajectoryBuilder,
    SelfCheck,
    Step,
    StepRegistry,
    TrajectoryBuilder,
    UnknownStep,
    dumps_steps,
    loads_steps,
)


def review(builder: TrajectoryBuilder) -> int:
    """A pipeline that records its trail only when asked."""
    builder.push(ChunksRetrieved(1, ["f"], [0.5]))
    if builder.enabled:
        builder.push(SelfCheck(1, 0, 0.9))
    return 42


def test_builder_keeps_steps_in_push_order() -> None:
    b = TrajectoryBuilder()
    assert b.is_empty()
    assert len(b) == 0
    assert review(b) == 42
    assert not b.is_empty()
    assert len(b) == 2
    assert [s.kind for s in b.steps] == ["chunks_retrieved", "self_check"]


def test_null_builder_accepts_steps_and_keeps_nothing() -> None:
    b = NullTrajectoryBuilder()
    assert review(b) == 42
    assert b.is_empty()
    assert len(b) == 0
    assert b.into_json() == []
    assert b.to_json_text() == "[]"
    assert isinstance(b, TrajectoryBuilder)


class Tier(StrEnum):
    HOT = "hot"
    COLD = "cold"


@dataclasses.dataclass(frozen=True, slots=True)
class CacheLookup(Step):
    kind: ClassVar[str] = "cache_lookup"

    hits: int
    tier: Tier
    score: Annotated[float, F32]
    keys: list[str] = dataclasses.field(default_factory=list)
    note: str | None = None


def test_a_registered_user_kind_round_trips_with_validation() -> None:
    registry = StepRegistry()
    registry.register(CacheLookup)
    step = CacheLookup(hits=3, tier=Tier.HOT, score=0.25, keys=["a"])
    text = dumps_steps([step], registry)
    assert text == (
        '[{"kind":"cache_lookup","hits":3,"tier":"hot","score":0.25,"keys":["a"],"seq":0}]'
    )
    assert loads_steps(text, registry) == [step]
    with pytest.raises(ValidationError) as info:
        loads_steps('[{"kind":"cache_lookup","hits":3,"tier":"warm","score":0.1}]', registry)
    assert info.value.where == "steps[0].tier"


def test_a_reader_without_the_user_kind_keeps_it_as_unknown_and_writes_it_back() -> None:
    writer = StepRegistry()
    writer.register(CacheLookup)
    text = dumps_steps([CacheLookup(hits=1, tier=Tier.COLD, score=0.5)], writer)
    (step,) = loads_steps(text)  # the default registry has no cache_lookup
    assert isinstance(step, UnknownStep)
    assert step.kind == "cache_lookup"
    assert dumps_steps([step]) == text
    assert loads_steps(dumps_steps([step]), writer) == [CacheLookup(1, Tier.COLD, 0.5)]


def test_registries_are_independent() -> None:
    a = StepRegistry()
    b = a.copy()
    b.register(CacheLookup)
    assert "cache_lookup" in b
    assert "cache_lookup" not in a


def test_registering_a_kind_twice_is_a_no_op_but_a_clash_is_an_error() -> None:
    registry = StepRegistry()
    registry.register(CacheLookup)
    registry.register(CacheLookup)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Impostor(Step):
        kind: ClassVar[str] = "cache_lookup"

        x: int

    with pytest.raises(TypeError, match="already registered"):
        registry.register(Impostor)
    with pytest.raises(TypeError, match="already registered"):
        registry.register(_clash())


def _clash() -> type[Step]:
    @dataclasses.dataclass(frozen=True, slots=True)
    class OtherSelfCheck(Step):
        kind: ClassVar[str] = "self_check"

        x: int

    return OtherSelfCheck


def test_bad_user_kinds_are_refused_with_a_reason() -> None:
    registry = StepRegistry()

    @dataclasses.dataclass(frozen=True, slots=True)
    class BadName(Step):
        kind: ClassVar[str] = "Bad Name"

        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class BadType(Step):
        kind: ClassVar[str] = "bad_type"

        x: dict[str, int]

    @dataclasses.dataclass(frozen=True, slots=True)
    class Reserved(Step):
        kind: ClassVar[str] = "reserved"

        seq: int

    class NotADataclass(Step):
        kind: ClassVar[str] = "plain"

    with pytest.raises(TypeError, match="snake_case"):
        registry.register(BadName)
    with pytest.raises(TypeError, match="unsupported field type"):
        registry.register(BadType)
    with pytest.raises(TypeError, match="reserved"):
        registry.register(Reserved)
    with pytest.raises(TypeError, match="dataclass"):
        registry.register(NotADataclass)


def test_builder_memory_is_bounded_and_drops_are_counted() -> None:
    b = TrajectoryBuilder(max_steps=3)
    for _ in range(5):
        b.push(SelfCheck(1, 0, 0.5))
    assert len(b) == 3
    assert b.dropped == 2
