"""Reading steps from the wire: exact errors naming step and field, caps, floats, round trips."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.errors import ImportFormatError, ValidationError
from outcomes.trajectory import (
    MAX_STEPS,
    ChunksRetrieved,
    FinalDecision,
    LlmCall,
    PastVerdictsRecalled,
    RecalledVerdict,
    RulesApplied,
    RuleSource,
    SelfCheck,
    TrajectoryBuilder,
    UnknownStep,
    dumps_steps,
    loads_steps,
    steps_from_wire,
)

GOOD = {"kind": "chunks_retrieved", "count": 2, "symbols": ["foo"], "similarity_scores": [0.5]}


def where_of(data: Any) -> str | None:
    with pytest.raises(ValidationError) as info:
        steps_from_wire(data)
    return info.value.where


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({**GOOD, "kind": "chunks_retreived_typo!"}, "steps[1].kind"),
        ({**GOOD, "kind": 7}, "steps[1].kind"),
        ({k: v for k, v in GOOD.items() if k != "kind"}, "steps[1].kind"),
        ({k: v for k, v in GOOD.items() if k != "count"}, "steps[1].count"),
        ({**GOOD, "colour": "red"}, "steps[1].colour"),
        ({**GOOD, "count": "2"}, "steps[1].count"),
        ({**GOOD, "count": 2.0}, "steps[1].count"),
        ({**GOOD, "count": True}, "steps[1].count"),
        ({**GOOD, "count": -1}, "steps[1].count"),
        ({**GOOD, "count": 2**53}, "steps[1].count"),
        ({**GOOD, "symbols": "foo"}, "steps[1].symbols"),
        ({**GOOD, "symbols": ["ok", 3]}, "steps[1].symbols[1]"),
        ({**GOOD, "similarity_scores": [0.5, math.nan]}, "steps[1].similarity_scores[1]"),
        ({**GOOD, "similarity_scores": [math.inf]}, "steps[1].similarity_scores[0]"),
        ({**GOOD, "similarity_scores": [1e39]}, "steps[1].similarity_scores[0]"),
        ({**GOOD, "similarity_scores": ["0.5"]}, "steps[1].similarity_scores[0]"),
        ({**GOOD, "seq": 5}, "steps[1].seq"),
        ({**GOOD, "started_at": -1.0}, "steps[1].started_at"),
        ({**GOOD, "duration_ms": "fast"}, "steps[1].duration_ms"),
        ({"kind": "rules_applied", "rule_ids": [], "source": "planet"}, "steps[1].source"),
        (
            {"kind": "self_check", "keep_count": 2**32, "drop_count": 0, "avg_confidence": 0.1},
            "steps[1].keep_count",
        ),
        (
            {
                "kind": "past_verdicts_recalled",
                "count": 1,
                "top_similarities": [],
                "recalled_items": [
                    {"id": "v", "title": "t", "similarity": math.nan, "excerpt": ""}
                ],
            },
            "steps[1].recalled_items[0].similarity",
        ),
        (
            {
                "kind": "past_verdicts_recalled",
                "count": 1,
                "top_similarities": [],
                "recalled_items": [{"id": "v", "title": "t", "similarity": 0.1}],
            },
            "steps[1].recalled_items[0].excerpt",
        ),
        ({"kind": "ann_recall", "used": 1, "index_size": 1, "candidates": 1}, "steps[1].used"),
        ("not an object", "steps[1]"),
        ({"kind": "future_kind", "x": math.nan}, "steps[1].x"),
    ],
)
def test_a_bad_step_is_named_by_index_and_field(bad: Any, where: str) -> None:
    assert where_of([GOOD, bad, GOOD]) == where


def test_a_trajectory_must_be_an_array() -> None:
    assert where_of({"steps": []}) == "steps"


def test_huge_string_is_rejected_with_its_cap() -> None:
    with pytest.raises(ValidationError, match="length <= 4096") as info:
        steps_from_wire([{**GOOD, "symbols": ["x" * 10_000]}])
    assert info.value.where == "steps[0].symbols[0]"


def test_huge_array_is_rejected_with_its_cap() -> None:
    with pytest.raises(ValidationError, match="length <= 10000") as info:
        steps_from_wire([{**GOOD, "similarity_scores": [0.1] * 10_001}])
    assert info.value.where == "steps[0].similarity_scores"


def test_too_many_steps_are_rejected() -> None:
    with pytest.raises(ValidationError, match=f"cap of {MAX_STEPS}"):
        steps_from_wire([GOOD] * (MAX_STEPS + 1))


def test_nan_literal_in_json_text_is_named_by_step_and_field() -> None:
    text = '[{"kind":"self_check","keep_count":1,"drop_count":0,"avg_confidence":NaN}]'
    with pytest.raises(ValidationError) as info:
        loads_steps(text)
    assert info.value.where == "steps[0].avg_confidence"


def test_text_that_is_not_json_is_an_import_format_error_with_position() -> None:
    with pytest.raises(ImportFormatError) as info:
        loads_steps('[{"kind": "self_check",')
    assert info.value.where is not None
    assert info.value.where.startswith("line 1")


def test_deeply_nested_unknown_step_is_rejected_not_crashing() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested deeper"):
        steps_from_wire([{"kind": "future_kind", "x": deep}])


def test_unknown_kind_from_a_newer_writer_is_kept_intact_and_rewritten_as_is() -> None:
    newer = [
        GOOD,
        {"kind": "cache_lookup", "hits": 3, "keys": ["a"], "meta": {"warm": True}, "seq": 1},
    ]
    steps = steps_from_wire(newer)
    assert steps[1] == UnknownStep(
        "cache_lookup", {"hits": 3, "keys": ["a"], "meta": {"warm": True}}
    )
    assert json.loads(dumps_steps(steps)) == [{**GOOD, "seq": 0}, newer[1]]


def test_nothing_is_returned_when_one_step_is_bad() -> None:
    # The reader is all or nothing: the error is raised before any step is handed back.
    data = [GOOD] * 5 + [{**GOOD, "count": None}]
    with pytest.raises(ValidationError):
        steps_from_wire(data)


# -- floats ----------------------------------------------------------------------------


def rust_f32_text(x: float) -> str:
    """The shortest decimal of the f32 nearest ``x``, as ryu (serde_json) formats it."""
    text = np.format_float_positional(np.float32(x), unique=True, trim="0")
    return text + "0" if text.endswith(".") else text


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=0.5**13, max_value=2.0**20, width=32)
    | st.floats(min_value=-(2.0**20), max_value=-(0.5**13), width=32)
    | st.just(0.0)
)
def test_f32_values_written_by_the_seed_round_trip_byte_identically(x: float) -> None:
    seed_text = rust_f32_text(x)
    doc = f'[{{"kind":"self_check","keep_count":1,"drop_count":0,"avg_confidence":{seed_text}}}]'
    steps = loads_steps(doc)
    assert dumps_steps(steps, seed_shape=True) == doc


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-3e38, max_value=3e38))
def test_python_floats_are_emitted_as_their_shortest_repr_and_read_back_exactly(x: float) -> None:
    b = TrajectoryBuilder()
    b.push(SelfCheck(1, 0, x))
    text = b.to_json_text()
    assert repr(x) in text
    (back,) = loads_steps(text)
    assert isinstance(back, SelfCheck)
    assert back.avg_confidence == x
    assert struct.pack("<d", back.avg_confidence) == struct.pack("<d", x)


# -- round trips and hostile input -------------------------------------------------------

names = st.text(min_size=0, max_size=30)
f32s = st.floats(allow_nan=False, allow_infinity=False, width=32)
u32s = st.integers(0, 2**32 - 1)

steps_strategy = st.one_of(
    st.builds(
        ChunksRetrieved,
        count=st.integers(0, 2**53 - 1),
        symbols=st.lists(names, max_size=5),
        similarity_scores=st.lists(f32s, max_size=5),
    ),
    st.builds(
        RulesApplied, rule_ids=st.lists(names, max_size=4), source=st.sampled_from(RuleSource)
    ),
    st.builds(
        LlmCall,
        perspective=names,
        input_tokens=u32s,
        output_tokens=u32s,
        raw_output=st.none() | names,
        trace_id=st.none() | names,
        started_at=st.none() | st.floats(0, 2e9),
        duration_ms=st.none() | st.floats(0, 1e7),
    ),
    st.builds(
        PastVerdictsRecalled,
        count=st.integers(0, 100),
        top_similarities=st.lists(f32s, max_size=4),
        recalled_items=st.lists(
            st.builds(
                RecalledVerdict,
                id=names,
                title=st.text(alphabet="abc xyz", max_size=40),
                similarity=f32s,
                excerpt=st.text(alphabet="abc xyz", max_size=300),
            ),
            max_size=3,
        ),
    ),
    st.builds(SelfCheck, keep_count=u32s, drop_count=u32s, avg_confidence=f32s),
    st.builds(FinalDecision, issue_ids_emitted=st.lists(names, max_size=4)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(steps_strategy, max_size=12))
def test_any_trajectory_round_trips_through_json(steps: list[Any]) -> None:
    text = dumps_steps(steps)
    assert loads_steps(text) == steps
    assert loads_steps(dumps_steps(steps, seed_shape=True)) == [_without_additive(s) for s in steps]


def _without_additive(step: Any) -> Any:
    import dataclasses

    changes: dict[str, Any] = {"started_at": None, "duration_ms": None}
    return dataclasses.replace(step, **changes)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["kind", "count", "symbols", "similarity_scores", "seq", "x"]),
            json_values,
        ),
        max_size=4,
    )
)
def test_hostile_input_either_validates_or_raises_validation_error(data: list[Any]) -> None:
    where: str | None = "unset"
    try:
        steps = steps_from_wire(data)
    except ValidationError as exc:
        where = exc.where
        steps = None
    if steps is None:
        assert where is not None
        assert where.startswith("steps")
        return
    # Whatever was accepted serializes to valid JSON and reads back equal.
    assert loads_steps(dumps_steps(steps)) == steps
