"""``ledger stats --since`` from the rollups equals the scan of the receipts since then.

The rollups book a late signal in the hour of the call it replaces; ``summarize`` reads
the whole hours from ``since`` rounded up, then adds and takes back the receipts at the
edge. On memory, SQLite and PostgreSQL, on random streams with chains of late signals,
signals dated before their call, other kinds, and cut-offs anywhere (on an hour, inside
one, before everything, after everything), the answer equals the scan's.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from outcomes.ledger._maintenance import summarize
from outcomes.records import Receipt
from outcomes.store import Store
from tests.store.test_rollups import (
    T0,
    call_and_late_signal,
    reset,
    stream_settings,
    write_in_batches,
)
from tests.store.test_rollups import calls as call_tuples

late = st.tuples(
    st.integers(0, 1000),  # which call (mod count)
    st.sampled_from([True, False, None]),
    st.floats(-2 * 3600.0, 2 * 86_400.0),  # recorded this long after the call (or before)
)
streams = st.tuples(
    st.lists(call_tuples, min_size=1, max_size=30),
    st.lists(late, max_size=20),
    st.lists(st.integers(0, 29), max_size=4),  # calls re-recorded as another kind
    st.lists(st.integers(1, 13), min_size=1, max_size=4),  # batch sizes, cycled
)
cutoffs = st.lists(
    st.one_of(
        st.floats(-3 * 3600.0, 8 * 86_400.0).map(lambda off: T0 + off),  # anywhere
        st.integers(-3, 8 * 24).map(lambda h: float((int(T0) // 3600 + h) * 3600)),  # on an hour
        st.tuples(st.integers(0, 60), st.floats(-3600.0, 3600.0)),  # near a receipt
    ),
    min_size=1,
    max_size=5,
)


def receipts_of(stream: Any) -> list[Receipt]:
    call_list, signal_list, others, _ = stream
    heads: list[Receipt] = []
    for i, (m, t, p, ok, _q, lat, tokens, cost, off) in enumerate(call_list):
        call = Receipt(
            receipt_id=f"r{i}", trace_id=f"t{i}", model_id=f"m{m}", task=f"t{t}",
            timestamp=T0 + off, success=ok, latency_ms=lat, input_tokens=tokens,
            cost_usd=cost, project_id=None if p == 0 else f"p{p}",
        )  # fmt: skip
        heads.append(call)
    out = list(heads)
    for k, (which, ok, delay) in enumerate(signal_list):
        head = heads[which % len(heads)]
        s = Receipt(
            receipt_id=f"s{k}", trace_id=head.trace_id, model_id=head.model_id,
            task=head.task, project_id=head.project_id, timestamp=head.timestamp + delay,
            success=ok, source="signal", supersedes=head.receipt_id,
            superseded_success=head.success, superseded_at=head.timestamp,
        )  # fmt: skip
        heads[which % len(heads)] = s
        out.append(s)
    for k, which in enumerate(others):
        call = out[which % len(call_list)]
        other = Receipt(
            receipt_id=f"o{k}", trace_id=f"o{k}", model_id=call.model_id, task=call.task,
            timestamp=call.timestamp + 1800.0, success=call.success,
            latency_ms=call.latency_ms, cost_usd=call.cost_usd, kind="judge",
        )  # fmt: skip
        out.append(other)
    return out


def scanned(receipts: list[Receipt], since: float) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What ``ledger stats`` reports, counted from every receipt recorded since ``since``."""
    acc: dict[tuple[str, str], Counter[str]] = {}
    sums: dict[tuple[str, str], list[float]] = {}

    def bucket(success: bool | None) -> str:
        return "unknown" if success is None else "successes" if success else "failures"

    for r in receipts:
        if r.timestamp < since:
            continue
        c = acc.setdefault((r.model_id, r.task), Counter())
        s = sums.setdefault((r.model_id, r.task), [0.0, 0.0])
        c["receipts"] += 1
        c[bucket(r.success)] += 1
        if r.supersedes is not None:
            c[bucket(r.superseded_success)] -= 1
        else:
            c["calls"] += 1
            s[0] += r.latency_ms
            s[1] += r.cost_usd or 0.0
    return {
        key: (c["calls"], c["receipts"], c["successes"], c["failures"], c["unknown"], *sums[key])
        for key, c in acc.items()
    }


def reported(store: Store, since: float) -> dict[tuple[str, str], tuple[Any, ...]]:
    out = {}
    for r in summarize(store, since=since):
        out[(r["model_id"], r["task"])] = (
            r["calls"], r["receipts"], r["successes"], r["failures"], r["unknown"],
            (r["mean_latency_ms"] or 0.0) * r["calls"], r["cost_usd"],
        )  # fmt: skip
    return out


EXAMPLES = settings(stream_settings, max_examples=30)


def stored(
    store: Store, receipts: list[Receipt], sizes: list[int], offsets: list[Any]
) -> list[float]:
    """Empty ``store``, write ``receipts`` in batches of ``sizes`` (cycled), and return the
    cut-offs ``offsets`` (:data:`cutoffs`) name: a time, or a receipt's plus a shift."""
    reset(store)
    write_in_batches(store, receipts, sizes)
    times = [r.timestamp for r in receipts]
    return [c if isinstance(c, float) else times[c[0] % len(times)] + c[1] for c in offsets]


@EXAMPLES
@given(stream=streams, offsets=cutoffs)
def test_stats_since_from_rollups_equal_the_scan(
    store: Store, stream: Any, offsets: list[Any]
) -> None:
    receipts = receipts_of(stream)
    for since in stored(store, receipts, stream[3], offsets):
        want, got = scanned(receipts, since), reported(store, since)
        # A cell whose receipts all cancel out still shows (the scan met its receipts).
        assert got.keys() == want.keys(), since
        for key, row in want.items():
            assert got[key][:5] == row[:5], (since, key, got[key], row)
            for a, b in zip(got[key][5:], row[5:], strict=True):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (since, key, a, b)


def test_a_late_signal_counts_since_it_was_recorded_not_since_its_call(store: Store) -> None:
    reset(store)
    call, signal = call_and_late_signal(3 * 86_400 + 600)
    store.write([call, signal])
    (row,) = summarize(store, since=T0 + 86_400 + 0.5)
    # Only the signal is recorded since then: no call, one receipt, the outcome moved.
    assert (row["calls"], row["receipts"], row["successes"], row["failures"]) == (0, 1, -1, 1)
    (row,) = summarize(store, since=T0 - 0.5)
    assert (row["calls"], row["receipts"], row["successes"], row["failures"]) == (1, 2, 0, 1)


def test_a_signal_dated_before_its_call_is_taken_back_from_the_hours(store: Store) -> None:
    reset(store)
    hour = (int(T0) // 3600 + 1) * 3600
    call = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="generate", timestamp=hour + 60,
        success=True, latency_ms=80.0,
    )  # fmt: skip
    # Recorded (by another host's clock) before the call it replaces: the rollups book it
    # in the call's hour, which `since` below fully covers, but it is not recorded since.
    signal = Receipt(
        receipt_id="s1", trace_id="t1", model_id="m", task="generate",
        timestamp=hour - 1000, success=False, source="signal", supersedes="r1",
        superseded_success=True, superseded_at=hour + 60,
    )  # fmt: skip
    store.write([call, signal])
    (row,) = summarize(store, since=hour - 500)
    assert (row["calls"], row["receipts"], row["successes"], row["failures"]) == (1, 1, 1, 0)


@pytest.mark.parametrize("since", [-1e300, -(2.0**60), 1e23, 2.0**60])
def test_a_time_far_outside_any_clock_is_before_or_after_every_receipt(
    store: Store, since: float
) -> None:
    reset(store)
    call = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="generate", timestamp=T0,
        success=True, latency_ms=50.0,
    )  # fmt: skip
    store.write([call])
    rows = summarize(store, since=since)
    # Beyond what a SQL integer holds: answered as "everything" or "nothing", not an error.
    assert [(r["calls"], r["successes"]) for r in rows] == ([(1, 1)] if since < 0 else [])
