"""Rollups kept by every store equal the fold of the receipts they summarize.

Random streams of calls, late signals that supersede them (chains included), batches of
any split and re-delivered receipts, on memory, SQLite and PostgreSQL: the profiles read
from the rollups equal the profiles folded from the receipts, and so do the time series
and ``ledger stats``; ``rebuild_rollups`` gives the same rollups back.
"""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from outcomes.inference import from_rollups, rebuild, timeseries
from outcomes.inference._profiles import OutcomeStats, ProfileState
from outcomes.ledger._maintenance import summarize
from outcomes.records import Receipt
from outcomes.server.dashboard._queries import CELLS, cells_params, range_params
from outcomes.store import SQLiteStore, Store, rebuild_rollups, stats_of
from outcomes.store._sql import SqlStore

T0 = 1_760_000_000.0
MODELS = ("gpt-x", "claude-y", "local/z")
TASKS = ("generate", "code")
PROJECTS = (None, "alpha", "beta")

calls = st.tuples(
    st.integers(0, 2),  # model
    st.integers(0, 1),  # task
    st.integers(0, 2),  # project
    st.sampled_from([True, False, None]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.floats(0.0, 30_000.0),  # latency ms
    st.integers(0, 5000),
    st.one_of(st.none(), st.floats(0.0, 2.0)),
    st.floats(0.0, 5 * 86_400.0),  # offset from T0
)
signals = st.tuples(
    st.integers(0, 1000),  # which call (mod count)
    st.sampled_from([True, False, None]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.floats(1.0, 3 * 86_400.0),  # delay after the current head
)
streams = st.tuples(
    st.lists(calls, min_size=1, max_size=40),
    st.lists(signals, max_size=25),
    st.lists(st.integers(1, 17), min_size=1, max_size=6),  # batch sizes, cycled
    st.booleans(),  # re-deliver everything at the end
)


def receipts_of(stream: Any) -> list[Receipt]:
    call_list, signal_list, _, _ = stream
    out: list[Receipt] = []
    heads: list[Receipt] = []
    for i, (m, t, p, ok, q, lat, tokens, cost, off) in enumerate(call_list):
        r = Receipt(
            receipt_id=f"r{i}", trace_id=f"t{i}", model_id=MODELS[m], task=TASKS[t],
            timestamp=T0 + off, success=ok, quality=q, latency_ms=lat, input_tokens=tokens,
            output_tokens=tokens // 3, cost_usd=cost, project_id=PROJECTS[p],
            error="HTTP 429" if ok is False and i % 2 else None,
            source="failure" if ok is False else "complete",
        )  # fmt: skip
        out.append(r)
        heads.append(r)
    for k, (which, ok, q, delay) in enumerate(signal_list):
        head = heads[which % len(heads)]
        s = Receipt(
            receipt_id=f"s{k}", trace_id=head.trace_id, model_id=head.model_id,
            task=head.task, project_id=head.project_id, timestamp=head.timestamp + delay,
            success=ok, quality=q, source="signal", supersedes=head.receipt_id,
            superseded_success=head.success, superseded_quality=head.quality,
            superseded_at=head.timestamp,
        )  # fmt: skip
        heads[which % len(heads)] = s
        out.append(s)
    return out


def write_in_batches(store: Store, receipts: list[Receipt], sizes: list[int]) -> None:
    i, k = 0, 0
    while i < len(receipts):
        n = sizes[k % len(sizes)]
        store.write(receipts[i : i + n])
        i, k = i + n, k + 1


def close(a: float, b: float) -> bool:
    if a == -math.inf or b == -math.inf:
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def same_cell(a: OutcomeStats, b: OutcomeStats) -> bool:
    floats = ("latency_ms_total", "cost_usd", "quality_sum", "last_at", "dw_pos", "dwq_pos",
              "dw_neg", "dwq_neg", "ds_pos", "ds_neg", "df_pos", "df_neg")  # fmt: skip
    return (
        all(close(getattr(a, f), getattr(b, f)) for f in floats)
        and a.latency.items() == b.latency.items()
        and close(a.latency.total, b.latency.total)
        and a.latency.max_value == b.latency.max_value
    )


def assert_same_state(got: ProfileState, want: ProfileState) -> None:
    assert got.receipts == want.receipts
    assert got.summary() == want.summary()
    assert set(got.parts) == set(want.parts)
    for key, cell in want.parts.items():
        assert same_cell(got.parts[key], cell), key
    assert got.ema.keys() == want.ema.keys()
    assert all(close(got.ema[m], v) for m, v in want.ema.items())
    assert got.task_ema.keys() == want.task_ema.keys()
    assert all(close(got.task_ema[k], v) for k, v in want.task_ema.items())


def assert_days_are_their_hours(store: Store) -> None:
    """A range read with whole days from ``rollup_daily`` equals the same range read
    from the hours alone: every day row is the merge of its hours."""
    t0 = int(T0) // 3600 * 3600
    for low, high in ((t0 - 5 * 3600, t0 + 3 * 86_400 + 7 * 3600), (0, 2**62), (t0, t0 + 3600)):
        with_days = {r[:3]: stats_of(r[3:]) for r in store.query(CELLS, cells_params(low, high))}
        hours = range_params(low, high, days=False)
        hours_only = {r[:3]: stats_of(r[3:]) for r in store.query(CELLS, hours)}
        assert with_days.keys() == hours_only.keys()
        for key, (cell, receipts) in hours_only.items():
            assert with_days[key][1] == receipts, key
            assert same_cell(with_days[key][0], cell), key


def reset(store: Store) -> None:
    store.delete(Receipt.__table__)
    rebuild_rollups(store)


def check_rollups(store: Store) -> ProfileState:
    """Assert that the store's rollups are the fold of its receipts: profiles, time series
    by hour and by day, ``ledger stats``, days against their hours. Returns the fold."""
    folded = rebuild(store)
    assert_same_state(from_rollups(store), folded)
    # The time series adds up to the same counts, by hour and by day.
    for bucket in ("hour", "day"):
        points = timeseries(store, since=T0 - 86_400, until=T0 + 400 * 86_400, bucket=bucket)  # type: ignore[arg-type]
        assert sum(p.calls for p in points) == sum(c.calls for c in folded.parts.values())
        assert sum(p.successes - p.failures for p in points) == sum(
            c.successes - c.failures for c in folded.parts.values()
        )
    # ledger stats from the cells equals the same from every hour (since=0); both are
    # checked against a scan of the receipts in tests/ledger/test_stats_since.py.
    fast, scanned = summarize(store), summarize(store, since=0.0)
    assert [(r["model_id"], r["task"]) for r in fast] == [
        (r["model_id"], r["task"]) for r in scanned
    ]
    for a, b in zip(fast, scanned, strict=True):
        for k in ("calls", "receipts", "successes", "failures", "unknown"):
            assert a[k] == b[k], (k, a, b)
        for k in ("mean_latency_ms", "cost_usd"):
            assert (a[k] is None) == (b[k] is None)
            assert a[k] is None or close(a[k], b[k])
    assert_days_are_their_hours(store)
    return folded


stream_settings = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # Shrinking against a database takes minutes; the failing stream is printed anyway.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
"""How the stream properties run against a store (also ``test_pg_write.py``)."""


@stream_settings
@given(stream=streams)
def test_profiles_from_rollups_equal_profiles_folded_from_receipts(
    store: Store, stream: Any
) -> None:
    reset(store)
    receipts = receipts_of(stream)
    write_in_batches(store, receipts, stream[2])
    if stream[3]:
        assert store.write(receipts) == 0  # re-delivered: nothing new, rollups unchanged
    folded = check_rollups(store)
    # Rebuilding the rollups from the receipts gives the same profiles.
    assert rebuild_rollups(store) == folded.receipts
    assert_same_state(from_rollups(store), folded)
    assert_days_are_their_hours(store)


def call_and_late_signal(delay_s: float) -> tuple[Receipt, Receipt]:
    """A successful call at ``T0`` (120 ms) and a failing signal that supersedes it
    ``delay_s`` later."""
    call = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="generate", timestamp=T0,
        success=True, latency_ms=120.0,
    )  # fmt: skip
    late = Receipt(
        receipt_id="s1", trace_id="t1", model_id="m", task="generate",
        timestamp=T0 + delay_s, success=False, source="signal", supersedes="r1",
        superseded_success=True, superseded_at=T0,
    )  # fmt: skip
    return call, late


def test_a_superseding_receipt_counts_in_the_hour_of_the_call_it_replaces(store: Store) -> None:
    call, late = call_and_late_signal(3 * 86_400)
    store.write([call])
    store.write([late, late])
    points = timeseries(store, since=T0 - 3600, until=T0 + 4 * 86_400)
    assert [(p.calls, p.successes, p.failures) for p in points] == [(1, 0, 1)]
    assert points[0].latency_p95_ms is not None
    assert math.isclose(points[0].latency_p95_ms, 120.0, rel_tol=0.01)


def test_migrating_an_existing_database_builds_its_rollups(tmp_path: Any) -> None:
    from outcomes.store import SQLiteStore

    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    one_call = (0, 0, 1, True, 0.5, 250.0, 10, 0.1, 0.0)
    rows = receipts_of(([one_call] * 3, [(1, False, None, 60.0)], [5], False))
    store.write(rows)
    want = rebuild(store)
    # Make it look like a database written before rollups existed.
    assert isinstance(store, SqlStore)
    for table in ("rollup_hourly", "rollup_cells", "rollup_ema"):
        store.execute(f"DROP TABLE {table}")
    store.execute("DROP INDEX receipts_other_kinds")
    store.execute("DELETE FROM outcomes_migrations WHERE name = 'core.0002_rollups'")
    store.close()
    reopened = SQLiteStore(path)
    try:
        assert_same_state(from_rollups(reopened), want)
    finally:
        reopened.close()


def test_migrating_rollups_with_counts_at_the_whole_half_life_refolds_them(tmp_path: Any) -> None:
    """Rollups written before the counts aged with a quarter of the half-life hold
    ``ds_*``/``df_*`` at the whole one: ``core.0007`` refolds them to the receipts' fold."""
    path = tmp_path / "counts.db"
    store = SQLiteStore(path)
    rows = receipts_of(
        ([(i % 3, i % 2, i % 3, i % 4 != 0, None, 10.0, 5, None, i * 7_000.0) for i in range(40)],
         [(3, False, None, 600.0)], [7], False)
    )  # fmt: skip
    store.write(rows)
    want = rebuild(store)
    # As the earlier version wrote them: log weights at the whole half-life, 4x smaller.
    for table in ("rollup_hourly", "rollup_daily", "rollup_cells"):
        store.execute(
            f"UPDATE {table} SET ds_pos = ds_pos / 4, ds_neg = ds_neg / 4, "
            "df_pos = df_pos / 4, df_neg = df_neg / 4"
        )
    assert not same_cell(
        from_rollups(store).parts[next(iter(want.parts))], next(iter(want.parts.values()))
    )
    store.execute(
        "DELETE FROM outcomes_migrations WHERE name = 'core.0007_rollup_counts_half_life'"
    )
    store.close()
    reopened = SQLiteStore(path)
    try:
        assert_same_state(from_rollups(reopened), want)
        assert_days_are_their_hours(reopened)
    finally:
        reopened.close()


def test_migrating_a_database_without_daily_rollups_sums_its_hours(tmp_path: Any) -> None:
    path = tmp_path / "hourly.db"
    store = SQLiteStore(path)
    rows = [
        Receipt(
            receipt_id=f"r{i}", trace_id=f"t{i}", model_id=MODELS[i % 3], task=TASKS[i % 2],
            timestamp=T0 + i * 5_000.0, success=i % 4 != 0, latency_ms=10.0 * i,
            project_id=PROJECTS[i % 3],
        )
        for i in range(120)
    ]  # fmt: skip
    store.write(rows)
    want = store.fetch("SELECT * FROM rollup_daily ORDER BY model_id, task, project_key, day")
    assert len(want) > 3 * 6  # several days per cell
    store.execute("DROP TABLE rollup_daily")
    store.execute("DELETE FROM outcomes_migrations WHERE name = 'core.0004_rollup_daily'")
    store.close()
    reopened = SQLiteStore(path)
    try:
        got = reopened.fetch("SELECT * FROM rollup_daily ORDER BY model_id, task, project_key, day")
        assert [r[:4] for r in got] == [r[:4] for r in want]
        for a, b in zip(got, want, strict=True):
            assert stats_of(a[4:])[1] == stats_of(b[4:])[1]
            assert same_cell(stats_of(a[4:])[0], stats_of(b[4:])[0]), a[:4]
        assert_days_are_their_hours(reopened)
    finally:
        reopened.close()


def _write_from_another_process(args: tuple[str, str | None, int]) -> int:
    """Write receipts to a shared store: the process's own calls, a shared set every
    process re-delivers, and late signals for its own calls (spawned; returns how many
    receipts it wrote)."""
    import random

    from outcomes.store import PostgresStore, open_store

    url, schema, seed = args
    rng = random.Random(seed)
    store = open_store(url) if schema is None else PostgresStore(url, schema=schema)
    shared = receipts_of(([(i % 3, i % 2, i % 3, True, 0.5, 100.0 * i, i, None, i * 60.0)
                           for i in range(40)], [], [7], False))  # fmt: skip
    own = [
        Receipt(
            receipt_id=f"p{seed}-{i}",
            trace_id=f"p{seed}-t{i}",
            model_id=rng.choice(MODELS),
            task=rng.choice(TASKS),
            project_id=rng.choice(PROJECTS),
            timestamp=T0 + rng.uniform(0, 60 * 86_400),  # across months (partitions)
            success=rng.choice([True, False, None]),
            quality=rng.choice([None, rng.random()]),
            latency_ms=rng.uniform(0, 5000),
        )
        for i in range(300)
    ]
    late = [
        Receipt(
            receipt_id=f"p{seed}-s{i}",
            trace_id=r.trace_id,
            model_id=r.model_id,
            task=r.task,
            project_id=r.project_id,
            timestamp=r.timestamp + 7200,
            success=False,
            source="signal",
            supersedes=r.receipt_id,
            superseded_success=r.success,
            superseded_quality=r.quality,
            superseded_at=r.timestamp,
        )
        for i, r in enumerate(own[::5])
    ]
    batch = own + shared + late
    for i in range(0, len(batch), rng.randint(5, 40)):
        store.write(batch[i : i + 40])
    store.close()
    return len(batch)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_several_processes_writing_one_store_keep_exact_rollups(kind: str, tmp_path: Any) -> None:
    import multiprocessing

    from tests.conftest import POSTGRES_URL, make_postgres_store

    if kind == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'shared.db'}", None
        store: Store = SQLiteStore(tmp_path / "shared.db")
    else:
        pg = make_postgres_store()
        url, schema, store = POSTGRES_URL, pg.schema, pg
    try:
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            pool.map(_write_from_another_process, [(url, schema, s) for s in (1, 2, 3)])
        folded = rebuild(store)
        assert folded.receipts == 3 * (300 + 60) + 40
        assert_same_state(from_rollups(store), folded)
    finally:
        if kind == "postgresql":
            pg.drop_schema()
        store.close()
