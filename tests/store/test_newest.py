"""The window holding a range's newest receipts (store/_newest.py) and pg.0003, which
indexes PostgreSQL's receipt times by block ranges: the windows give what a sort of the
whole range gives, whatever the guess they start from, and a store of the previous
schema migrates without losing a receipt."""

from __future__ import annotations

import math
import random

import pytest

from outcomes._ids import new_id
from outcomes.ledger import prune
from outcomes.records import Receipt
from outcomes.server.dashboard._queries import OUTCOMES, outcomes_params
from outcomes.store import PostgresStore, Store
from outcomes.store._newest import OLDEST, newest_cutoff, window_since
from outcomes.testing import receipts
from tests.store._migrated import migrated

T0 = 1_780_000_000.0


def _receipt(i: int, ts: float) -> Receipt:
    own = new_id()
    return Receipt(own, own, f"m{i % 3}", "code", ts, success=i % 4 != 0)


def _stamps(seed: int) -> list[float]:
    """A dense stretch, a sparse one, ties, and (appended last) old imports and a few
    stamped ahead: the receipts appended last say little about the range's newest."""
    rng = random.Random(seed)
    dense = [T0 + 86_400 + rng.random() * 3600 for _ in range(300)]
    sparse = [T0 + rng.random() * 86_400 for _ in range(60)]
    ties = [T0 + 90_000.0] * 25
    old = [T0 - 30 * 86_400 + rng.random() * 86_400 for _ in range(80)]
    ahead = [T0 + 400 * 86_400 + i for i in range(3)]
    return [*sparse, *dense, *ties, *old, *ahead]


def _newest(stamps: list[float], since: float, until: float, n: int) -> float | None:
    inside = sorted((t for t in stamps if since <= t < until), reverse=True)
    return inside[n - 1] if len(inside) >= n else None


def test_the_cutoff_is_the_n_th_newest_time_of_the_range(store: Store) -> None:
    stamps = _stamps(1)
    store.write([_receipt(i, t) for i, t in enumerate(stamps)])
    ranges = [(-math.inf, math.inf), (0.0, T0 + 200 * 86_400), (T0 + 86_400, T0 + 88_000),
              (T0, T0 + 90_000.0), (T0 + 500 * 86_400, math.inf)]  # fmt: skip
    for since, until in ranges:
        for n in (1, 2, 7, 25, 26, 100, 299, 300, 301, len(stamps), len(stamps) + 1):
            want = _newest(stamps, since, until, n)
            assert newest_cutoff(store, since, until, n) == want, (since, until, n)
            start = window_since(store, since, until, n)
            assert since <= start
            if want is not None:
                assert start <= want  # the window holds the n newest


def test_a_walk_from_the_window_returns_what_the_whole_range_gives(store: Store) -> None:
    stamps = _stamps(2)
    store.write([_receipt(i, t) for i, t in enumerate(stamps)])
    for since, scan in ((0.0, 50), (0.0, 400), (T0 + 86_400, 10), (T0 + 86_400, 1000)):
        until = T0 + 200 * 86_400
        whole = store.query(OUTCOMES, outcomes_params(since, until, scan, "", ""))
        start = window_since(store, since, until, scan)
        assert store.query(OUTCOMES, outcomes_params(start, until, scan, "", "")) == whole


@pytest.mark.parametrize("guess", [True, False])
def test_postgresql_reads_a_window_not_the_whole_range(
    pg: PostgresStore, guess: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Receipts written in time order, as a live store writes them: the first window
    # is guessed from the last ones (or, with none to go by, is the last minute before
    # now, here months after them), and the answer's window holds 100 to 150 receipts.
    if not guess:
        monkeypatch.setattr("outcomes.store._newest._RECENT", 0)
    pg.write([_receipt(i, T0 + i * 10.0) for i in range(2000)])
    start = window_since(pg, 0.0, math.inf, 100)
    assert T0 + 1849 * 10.0 <= start <= T0 + 1900 * 10.0
    assert newest_cutoff(pg, 0.0, math.inf, 100) == T0 + 1900 * 10.0
    assert window_since(pg, 0.0, math.inf, 5000) == 0.0  # fewer than n: the whole range
    with pytest.raises(ValueError, match="n must be"):
        window_since(pg, 0.0, 1.0, 0)


def test_prune_keep_keeps_the_newest_by_time_whatever_the_insertion_order(
    store: Store,
) -> None:
    stamps = _stamps(3)
    store.write([_receipt(i, t) for i, t in enumerate(stamps)])
    keep = 40
    cutoff = _newest(stamps, -math.inf, math.inf, keep)
    assert cutoff is not None
    assert prune(store, keep=keep) == sum(1 for t in stamps if t < cutoff)
    assert sorted(r.timestamp for r in receipts(store)) == sorted(t for t in stamps if t >= cutoff)


def test_pg_0003_migrates_a_store_of_the_previous_schema() -> None:
    written = [_receipt(i, t) for i, t in enumerate(_stamps(4))]
    index = (
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'receipts_timestamp' "
        "AND schemaname = current_schema()"
    )

    def before(old: PostgresStore) -> object:
        assert "btree" in old.fetch(index)[0][0]
        return old.fetch("SELECT seq FROM receipts ORDER BY seq")

    with migrated(2, written, before) as (new, seqs):
        assert "pg.0003_timestamp_brin" in dict(new.migration_status().applied)
        assert "brin" in new.fetch(index)[0][0]
        parts = new.fetch(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'receipts_timestamp'::regclass"
        )[0][0]
        assert (
            parts
            == new.fetch("SELECT count(*) FROM pg_inherits WHERE inhparent = 'receipts'::regclass")[
                0
            ][0]
        )
        assert sorted(receipts(new), key=lambda r: r.receipt_id) == sorted(
            written, key=lambda r: r.receipt_id
        )
        assert new.fetch("SELECT seq FROM receipts ORDER BY seq") == seqs
        assert new.write(written) == 0  # re-delivery is still a no-op
        assert newest_cutoff(new, -math.inf, math.inf, 10) == _newest(
            [r.timestamp for r in written], -math.inf, math.inf, 10
        )


def test_a_cutoff_past_any_stores_size_is_none_not_an_overflow(store: Store) -> None:
    store.write([_receipt(0, T0)])
    assert newest_cutoff(store, -math.inf, math.inf, 10**23) is None
    assert newest_cutoff(store, -math.inf, math.inf, 1) == T0
    assert prune(store, keep=10**23) == 0


def test_the_oldest_receipt_whatever_the_insertion_order(store: Store) -> None:
    # feedback retention's bound (inference.prune_feedback): old imports appended last,
    # and, first, one more older than any appended after the first thousand rows.
    assert store.query(OLDEST) == [(None,)]
    stamps = [T0 + i for i in range(1500)] + _stamps(5) + [T0 - 400 * 86_400]
    store.write([_receipt(i, t) for i, t in enumerate(stamps)])
    assert store.query(OLDEST) == [(min(stamps),)]


def test_postgresql_bounds_the_oldest_receipt_by_the_first_rows_stored(pg: PostgresStore) -> None:
    # No sort of the table: the first rows stored bound the minimum, and only the times
    # at or before that bound are read (at 1M receipts through the timestamp index's
    # block ranges, docs/scaling.md; on 500 rows the planner rightly scans them).
    pg.write([_receipt(i, T0 + i) for i in range(500)])
    sql, _ = OLDEST.render("postgresql", ())
    plan = "\n".join(str(r[0]) for r in pg.fetch("EXPLAIN (COSTS OFF) " + sql))
    assert "Sort" not in plan
    assert "Limit" in plan
    assert '("timestamp" <= $0)' in plan
    assert pg.query(OLDEST) == [(T0,)]
