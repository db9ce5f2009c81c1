"""Where a time range's newest receipts start, without an ordered index on ``timestamp``.

PostgreSQL keeps ``timestamp`` in a block range index (``pg.0003``, store/_pg_compact.py):
a few bytes per 32 pages instead of a B-tree's 21 bytes per receipt. A block range index
has no order, so ``ORDER BY timestamp DESC LIMIT n`` over a whole range sorts the whole
range (1.7 s for the newest 10,000 of 1M receipts, docs/scaling.md). What a walk of the
newest ``n`` needs is a window ``[lo, until)`` that holds them: any window ending at
``until`` with at least ``n`` receipts does, whatever lies before it.
:func:`window_since` finds one by counting (up to ``n``, the scan stops there) the
receipts of ever wider windows, each read through the block ranges it overlaps; the walk
then sorts only that window. :func:`newest_cutoff` gives the ``n``-th newest timestamp
itself (``ledger prune --keep``).

The first window starts at the newest timestamps among the receipts appended last
(read through the ``seq`` block ranges) and spans a sixteenth of what they suggest ``n``
receipts take; each further window is scaled by how many it lacked (at most 8 times
wider). The guess decides only how much is read, never the answer. The other stores
walk their ordered index (SQLite) or sort in Python (memory) over the whole range.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from outcomes.records import Receipt
from outcomes.store._base import Store
from outcomes.store._query import MemoryTables, Query, Row, register_query

_RECENT = 1000
"""How many of the receipts appended last suggest the first window (one ``seq`` block
range of the BRIN index holds about 1,500 rows)."""
_PROBE = 16.0
"""The first window is this many times narrower than the receipts appended last suggest:
it measures how dense the range's newest receipts are (the rows appended last may be,
for instance, late signals only, a twentieth of the calls), at a sixteenth of the walk's
cost when the guess is right; the next window is sized on what it found."""
_GROW_MAX = 8.0
"""At most this many times wider per step, so that a sparse stretch of the range costs
a few more (cheap) windows rather than one far too wide."""
_SLACK = 1.25
"""A window is scaled to hold a quarter more than it lacked: receipts are not spread
evenly, and one window too few costs a whole read again."""


def _between(tables: MemoryTables, since: float, until: float) -> list[float]:
    return [r.timestamp for _, r in tables.rows(Receipt.__table__) if since <= r.timestamp < until]


def _count_upto(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, n = params
    yield (min(len(_between(tables, since, until)), n),)


COUNT_UPTO = register_query(
    Query(
        "receipts.count_upto",
        "SELECT count(*) FROM (SELECT 1 FROM receipts "
        "WHERE timestamp >= ? AND timestamp < ? LIMIT ?) AS found",
        _count_upto,
    )
)
"""Params ``(since, until, n)``: how many receipts ``[since, until)`` holds, counted up
to ``n`` (the scan stops there)."""


def _nth_newest(tables: MemoryTables, params: Row) -> Iterator[Row]:
    since, until, skip = params
    stamps = sorted(_between(tables, since, until), reverse=True)
    if skip < len(stamps):
        yield (stamps[skip],)


NTH_NEWEST = register_query(
    Query(
        "receipts.nth_newest",
        "SELECT timestamp FROM receipts WHERE timestamp >= ? AND timestamp < ? "
        "ORDER BY timestamp DESC LIMIT 1 OFFSET ?",
        _nth_newest,
    )
)
"""Params ``(since, until, skip)``: the timestamp of the ``skip + 1``-th newest receipt of
``[since, until)`` (no row when it holds fewer)."""


def _appended(tables: MemoryTables, params: Row) -> Iterator[Row]:
    (k,) = params
    stamps = [r.timestamp for _, r in tables.rows(Receipt.__table__)][-k:]
    yield (len(stamps), min(stamps, default=None), max(stamps, default=None))


APPENDED = Query(
    "receipts.appended_last",
    "SELECT count(*), min(timestamp), max(timestamp) FROM receipts "
    "WHERE seq > (SELECT max(seq) FROM receipts) - ?",
    _appended,
    # The identity's last value, not max(seq): the seq index is a block range index,
    # which cannot give a maximum without reading every row. Aborted writes leave gaps,
    # so this may see fewer than k rows: it is an estimate (not registered: the stores
    # need not agree on it).
    dialects={
        "postgresql": "SELECT count(*), min(timestamp), max(timestamp) FROM receipts "
        "WHERE seq > (SELECT pg_sequence_last_value(pg_get_serial_sequence('receipts', 'seq')"
        "::regclass)) - ?"
    },
)
"""Params ``(k,)``: count, oldest and newest timestamp of the (about) ``k`` receipts
appended last; the first window's guess."""


def _first_window(store: Store, since: float, until: float, n: int) -> tuple[float, float]:
    """(top, span): the first window is ``[max(since, top - span), until)``."""
    count, lo, hi = store.query(APPENDED, (_RECENT,))[0]
    if not count or hi is None or lo is None:
        return until, math.inf
    top = min(max(float(hi), since), until)
    per_row = (float(hi) - float(lo)) / max(int(count) - 1, 1)
    return top, max(per_row * n / _PROBE, 1.0)


def window_since(store: Store, since: float, until: float, n: int) -> float:
    """``since`` narrowed so that ``[window_since, until)`` still holds the ``n`` newest
    receipts of ``[since, until)`` (see the module docstring): a walk of the newest ``n``
    then reads only that window. ``n`` >= 1."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if store.kind != "postgresql":
        return since  # an ordered index (SQLite) or Python (memory) walks from the top
    top, span = _first_window(store, since, until, n)
    before = -1
    while True:
        lo = max(since, top - span)
        if lo <= since:
            return since
        count = int(store.query(COUNT_UPTO, (lo, until, n))[0][0])
        if count >= n:
            return lo
        # A wider window found nothing more: past the oldest receipt (an open range
        # would otherwise widen until the span overflows), or a gap in the traffic.
        if count == before and not store.query(COUNT_UPTO, (since, lo, 1))[0][0]:
            return since
        before = count
        grow = _GROW_MAX if not count else min(_GROW_MAX, _SLACK * n / count)
        # Stretched back from its top: receipts newer than the top (had the guess missed
        # some) are in every window, as each ends at ``until``.
        span = max(span * grow, span + 1.0)


def newest_cutoff(store: Store, since: float, until: float, n: int) -> float | None:
    """The timestamp of the ``n``-th newest receipt of ``[since, until)``; ``None`` when
    the range holds fewer than ``n``. ``n`` >= 1."""
    lo = window_since(store, since, until, n)
    found = store.query(NTH_NEWEST, (lo, until, n - 1))
    return float(found[0][0]) if found else None
