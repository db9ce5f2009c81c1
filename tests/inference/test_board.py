"""``models --json`` from rollup rows (``inference._board``) is the profiles' JSON, exactly."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from outcomes.inference._board import leaderboard_of_rows
from outcomes.inference._view import leaderboard_order, profiles_of
from outcomes.stats._sketch import LatencySketch
from outcomes.store._rollup_rows import STAT_NAMES, rollup_state

MODELS = ("a", "b", "c")
TASKS = ("generate", "code")
PROJECTS = ("", "web", "batch")

counts = st.integers(0, 60)
floats = st.floats(0.0, 1e4, allow_nan=False)
weights = st.floats(-50.0, 3000.0)  # log-domain decayed weights, as far as 2030 gives
below = st.floats(0.0, 30.0)


@st.composite
def decayed(draw: st.DrawFn) -> tuple[float | None, float | None, float | None, float | None]:
    """(w_pos, wq_pos, w_neg, wq_neg) as a fold leaves them: each taken-back weight below
    the added one, each weighted value (quality <= 1) below its weight; ``None`` = -inf."""
    if draw(st.booleans()):
        return None, None, None, None
    w_pos = draw(weights)
    wq_pos = draw(st.one_of(st.none(), below.map(lambda d: w_pos - d)))
    w_neg = draw(st.one_of(st.none(), below.map(lambda d: w_pos - 0.01 - d)))
    wq_neg = None if w_neg is None else draw(st.one_of(st.none(), below.map(lambda d: w_neg - d)))
    return w_pos, wq_pos, w_neg, wq_neg


sketches = st.dictionaries(st.integers(-300, 300), st.integers(1, 50), max_size=30)


@st.composite
def stat_values(draw: st.DrawFn) -> tuple[Any, ...]:
    """One rollup row's stat columns, in ``STAT_NAMES`` order."""
    buckets = draw(sketches)
    values: dict[str, Any] = {
        "latency_sketch": LatencySketch(buckets).encode(),
        "latency_n": sum(buckets.values()) + draw(counts),
    }
    for names in (("dw_pos", "dwq_pos", "dw_neg", "dwq_neg"),
                  ("ds_pos", "ds_neg", "df_pos", "df_neg")):  # fmt: skip
        values.update(zip(names, draw(decayed()), strict=True))
    for name in STAT_NAMES:
        if name not in values:
            integral = name in {"receipts", "calls", "successes", "failures", "inconclusive",
                                "latency_zero", "input_tokens", "output_tokens", "costed_calls",
                                "quality_n"}  # fmt: skip
            values[name] = draw(counts if integral else floats)
    return tuple(values[name] for name in STAT_NAMES)


cell_rows = st.dictionaries(
    st.tuples(st.sampled_from(MODELS), st.sampled_from(TASKS), st.sampled_from(PROJECTS)),
    stat_values(),
    max_size=12,
).map(lambda cells: [(*key, *values) for key, values in cells.items()])
ema_rows = st.dictionaries(
    st.tuples(st.sampled_from(MODELS), st.sampled_from(("", *TASKS))),
    st.floats(0.0, 1.0),
    max_size=6,
).map(lambda emas: [(*key, value) for key, value in emas.items()])


@settings(max_examples=100, deadline=None)
@given(cell_rows, ema_rows)
def test_rows_give_the_profiles_json_to_the_last_bit(
    cells: list[tuple[Any, ...]], ema: list[tuple[Any, ...]]
) -> None:
    profiles = sorted(profiles_of(rollup_state(cells, ema)), key=leaderboard_order)
    expected = [p.to_json() for p in profiles]
    # repr: float equality that also tells -0.0 from 0.0, as the printed JSON would.
    assert repr(leaderboard_of_rows(cells, ema)) == repr(expected)


def _answer(fn: Any, *args: Any) -> tuple[str, str]:
    """What ``fn(*args)`` gives: its repr, or the type and words of its error."""
    try:
        return "ok", repr(fn(*args))
    except Exception as exc:
        return type(exc).__name__, str(exc)


def _profiles_json(cells: list[tuple[Any, ...]], ema: list[tuple[Any, ...]]) -> Any:
    profiles = sorted(profiles_of(rollup_state(cells, ema)), key=leaderboard_order)
    return [p.to_json() for p in profiles]


hostile = st.one_of(
    st.none(), st.sampled_from(["", "abc", "1:2,", "nan", "inf", "-inf", "1e400", " 3 "]),
    # What a store can hold: SQLite and PostgreSQL integers end at 64 bits.
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 2**63 - 1, -(2**63), -5, 0, 1e308]),
    st.text(max_size=12),
)  # fmt: skip


_ONE_CELL = ("a", "generate", "", *[0] * 4, 1, 0, 0, 0.0, 0.0, "", 0.0, 0, 0, 0.0, 0, 1, 0.0,
             0.0, None, None, None, 0.0, None, None, None, 0.0)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(cell_rows, ema_rows, st.integers(0, len(STAT_NAMES) - 1), hostile, st.booleans())
# Found by this test in a full run: a decayed weight of 2**63-1 made both paths raise
# OverflowError (math.exp) instead of answering.
@example([_ONE_CELL], [], STAT_NAMES.index("dwq_pos"), 2**63 - 1, False)
def test_a_hostile_stored_value_gives_the_answer_or_the_error_of_the_profiles(
    cells: list[tuple[Any, ...]],
    ema: list[tuple[Any, ...]],
    column: int,
    value: Any,
    in_ema: bool,
) -> None:
    """Whatever reached a rollup row (NaN, infinities, huge or negative counts, text,
    NULL, a malformed sketch): the rows' answer is the profiles', or the same error,
    which names the row (never another exception, never a different answer)."""
    if in_ema and ema:
        ema = [(*ema[0][:2], value), *ema[1:]]
    elif cells:
        row = list(cells[0])
        row[3 + column] = value
        cells = [tuple(row), *cells[1:]]
    expected = _answer(_profiles_json, cells, ema)
    got = _answer(leaderboard_of_rows, cells, ema)
    assert got == expected
    assert got[0] in ("ok", "StoreCorruptError")
    if got[0] != "ok":
        assert got[1].startswith("malformed rollup_")
