"""The per-(component, outcome) totals the store keeps equal a grouping of the events.

On memory, SQLite and PostgreSQL: random events written in batches of any split, some
delivered twice, some pruned by retention, the database migrated before or after they
were written: ``component_outcomes`` always equals ``GROUP BY component_id, outcome``
over ``component_events``, so do the tracker's statistics, and a rebuild gives the same
rows back. Two processes writing one database keep them exact too.
"""

from __future__ import annotations

import math
import multiprocessing
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from outcomes.components import ComponentTracker
from outcomes.components._queries import OUTCOME_COUNTS, OUTCOME_TOTAL_ROWS
from outcomes.components._records import ComponentEvent
from outcomes.components._schema import MIGRATIONS
from outcomes.store import SQLiteStore, Store, registered_aggregates
from outcomes.store._aggregates import Aggregate
from outcomes.store._memory import MemoryStore
from outcomes.store._sql import SqlStore
from tests.conftest import make_postgres_store

T0 = 1_760_000_000.0
OUTCOMES = ("install_success", "install_failure", "used_in_session", "removed_by_user",
            "deprecated")  # fmt: skip

events = st.lists(
    st.tuples(
        st.integers(0, 4),  # component
        st.integers(0, 4),  # outcome
        st.floats(0.0, 30 * 86_400.0),  # offset from T0
        st.integers(0, 3),  # event id (small: collisions are re-deliveries)
    ),
    max_size=60,
)


def as_events(items: list[tuple[int, int, float, int]]) -> list[ComponentEvent]:
    out = []
    for i, (c, o, off, dup) in enumerate(items):
        eid = f"e{i}" if dup else f"e{i // 2}"  # every other "dup == 0" repeats an id
        out.append(ComponentEvent(eid, f"comp-{c}", OUTCOMES[o], T0 + off, None, ""))
    return out


def totals(store: Store) -> dict[tuple[str, str], tuple[int, float, float]]:
    return {(r[0], r[1]): (int(r[2]), float(r[3]), float(r[4]))
            for r in store.query(OUTCOME_TOTAL_ROWS)}  # fmt: skip


def grouped(store: Store) -> dict[tuple[str, str], tuple[int, float, float]]:
    return {(r[0], r[1]): (int(r[2]), float(r[3]), float(r[4]))
            for r in store.query(OUTCOME_COUNTS)}  # fmt: skip


def reset(store: Store) -> None:
    store.migrate(MIGRATIONS)
    store.delete(ComponentEvent.__table__)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(
    items=events,
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.floats(0.0, 30 * 86_400.0)),
)
def test_totals_equal_the_grouping_of_the_events(
    store: Store, items: list[Any], sizes: list[int], cut: float | None
) -> None:
    reset(store)
    assert totals(store) == {}
    written = as_events(items)
    i = k = 0
    while i < len(written):
        n = sizes[k % len(sizes)]
        store.write(written[i : i + n])
        i, k = i + n, k + 1
        assert totals(store) == grouped(store)
    store.write(written[: len(written) // 2])  # re-delivered: counted once
    assert totals(store) == grouped(store)
    if cut is not None:
        store.prune(ComponentEvent.__table__, column="timestamp", before=T0 + cut)
        assert totals(store) == grouped(store)
    before = totals(store)
    assert isinstance(store, SqlStore | MemoryStore)
    store.rebuild_aggregates()
    assert totals(store) == before
    tracker = ComponentTracker(store)
    try:
        for stats in tracker.all_stats():
            mine = {o: v for (c, o), v in before.items() if c == stats.component_id}
            assert stats.successes == mine.get("install_success", (0,))[0]
            assert stats.failures == mine.get("install_failure", (0,))[0]
            assert stats.removal_count == mine.get("removed_by_user", (0,))[0]
            assert stats.first_seen == min(v[1] for v in mine.values())
    finally:
        tracker.close()


def test_a_database_migrated_after_its_events_were_written_has_their_totals(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    store.migrate(MIGRATIONS[:1])  # as a version before the totals left it
    store.write(as_events([(1, 0, 10.0, 1), (1, 0, 20.0, 1), (2, 1, 5.0, 1)]))
    store.close()
    store = SQLiteStore(path)
    assert store.migrate(MIGRATIONS) == ["components.0002_outcome_totals"]
    assert totals(store) == grouped(store)
    assert totals(store)[("comp-1", "install_success")] == (2, T0 + 10.0, T0 + 20.0)
    store.close()


def test_an_aggregate_refuses_what_it_cannot_keep() -> None:
    table = ComponentEvent.__table__
    with pytest.raises(ValueError, match="no column"):
        Aggregate("x", table, ("nope",), (("n", "count", ""),))
    with pytest.raises(ValueError, match="unknown op"):
        Aggregate("x", table, ("outcome",), (("n", "avg", "timestamp"),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad source column"):
        Aggregate("x", table, ("outcome",), (("n", "count", "timestamp"),))


def _write_events(args: tuple[str, str | None, int]) -> int:
    kind, where, worker = args
    store: Store = SQLiteStore(where) if kind == "sqlite" else make_postgres_store_at(str(where))
    try:
        for b in range(20):
            batch = [
                ComponentEvent(
                    f"w{worker}-{b}-{j}", f"comp-{j % 3}", OUTCOMES[j % 5], T0 + b * 60 + j
                )
                for j in range(25)
            ]
            store.write(batch)
    finally:
        store.close()
    return 0


def make_postgres_store_at(schema: str) -> Store:
    from outcomes.store import PostgresStore
    from tests.conftest import POSTGRES_URL

    return PostgresStore(POSTGRES_URL, schema=schema)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_several_processes_writing_events_keep_exact_totals(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        store: Store = SQLiteStore(tmp_path / "shared.db")
        where = str(tmp_path / "shared.db")
    else:
        pg = make_postgres_store()
        store, where = pg, str(pg.schema)
    try:
        store.migrate(MIGRATIONS)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(3) as pool:
            assert pool.map(_write_events, [(kind, where, w) for w in range(3)]) == [0, 0, 0]
        got, want = totals(store), grouped(store)
        assert got == want
        assert sum(v[0] for v in got.values()) == 3 * 20 * 25
        assert all(math.isfinite(v[1]) for v in got.values())
    finally:
        if kind == "postgresql":
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()


def test_a_write_folds_only_the_rows_it_added(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "plan.db")
    store.migrate(MIGRATIONS)
    store.write(as_events([(c % 5, c % 4, float(c), 1) for c in range(50)]))
    agg = ComponentEvent.__table__
    (totals,) = [a for a in registered_aggregates() if a.source is agg]
    plan = " ".join(
        str(r[3]) for r in store.fetch("EXPLAIN QUERY PLAN " + totals.fold_sql("sqlite"), [40, 10])
    )
    # A range of rowids, not the whole table nor a whole index of it (which SQLite,
    # without statistics, picks to save the GROUP BY's sort): each write costs its rows.
    assert "rowid>?" in plan
    assert "SCAN component_events" not in plan
    store.close()
