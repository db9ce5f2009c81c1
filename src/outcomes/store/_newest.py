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
itself (``ledger prune --keep``). :data:`OLDEST` gives the oldest receipt's time
(feedback retention) through the block ranges too.

The first window starts at the newest timestamps among the receipts appended last
(read through the ``seq`` block ranges) and spans a sixteenth of what they suggest ``n``
receipts take; each further window is scaled by how many it lacked (at most 8 times
wider). Counts stop at half as many again as ``n``: a window that reaches that is
bisected back (between it and the last one that held too few), so the walk sorts at
most 1.5 ``n`` receipts. The guess decides only how much is read, never the answer. The other stores
walk their ordered index (SQLite) or sort in Python (memory) over the whole range.
"""

from __future__ import annotations

import math
import time
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
_NO_GUESS_S = 60.0
"""Without receipts appended last to go by (none yet since the identity restarted, or
no right to read it), the first window is the last minute before now."""
_GROW_MAX = 8.0
"""At most this many times wider per step, so that a sparse stretch of the range costs
a few more (cheap) windows rather than one far too wide."""
MAX_ROWS = 2**62
"""More receipts than any store holds; above it ``n`` is answered without SQL, whose
counts, limits and offsets (up to ``1.5 n`` here) are 64-bit."""
_SLACK = 1.2
"""A window is scaled to hold a fifth more than it lacked (receipts are not spread
evenly, and one window too few costs a whole read again), well inside the cap of half
as many again as ``n`` past which a window is bisected back."""
_BISECT = 24
"""At most this many halvings narrow a window that holds too many (a guard: receipts
tied on one timestamp cannot be split)."""


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


def _oldest(tables: MemoryTables, params: Row) -> Iterator[Row]:
    yield (min(_between(tables, -math.inf, math.inf), default=None),)


OLDEST = register_query(
    Query(
        "receipts.oldest",
        "SELECT min(timestamp) FROM receipts",
        _oldest,
        # Without an ordered index the minimum (or ORDER BY timestamp LIMIT 1) reads every
        # row. The first rows stored (the oldest partition's first blocks: partitions
        # are scanned in time order) give a time the minimum cannot exceed; only the
        # block ranges holding a time at or before it are then read.
        dialects={
            "postgresql": "SELECT min(timestamp) FROM receipts WHERE timestamp <= ("
            "SELECT min(timestamp) FROM (SELECT timestamp FROM receipts LIMIT 1000) AS first)"
        },
    )
)
"""No params: the oldest receipt's timestamp (``None`` when there is none)."""


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
    # A role that may read the table but not its sequence (a read-only dashboard) gets
    # no rows rather than an error: the guess falls back to the clock.
    dialects={
        "postgresql": "SELECT count(*), min(timestamp), max(timestamp) FROM receipts "
        "WHERE seq > (SELECT CASE WHEN has_sequence_privilege(s, 'SELECT') "
        "OR has_sequence_privilege(s, 'USAGE') THEN pg_sequence_last_value(s) END "
        "FROM (SELECT pg_get_serial_sequence('receipts', 'seq')::regclass AS s) AS q) - ?"
    },
)
"""Params ``(k,)``: count, oldest and newest timestamp of the (about) ``k`` receipts
appended last; the first window's guess."""


def _first_window(store: Store, since: float, until: float, n: int) -> tuple[float, float]:
    """(top, span): the first window is ``[max(since, top - span), until)``."""
    count, lo, hi = store.query(APPENDED, (_RECENT,))[0]
    if not count or hi is None or lo is None:  # no guess: a minute back from now
        return min(max(time.time(), since), until), _NO_GUESS_S
    top = min(max(float(hi), since), until)
    per_row = (float(hi) - float(lo)) / max(int(count) - 1, 1)
    return top, max(per_row * n / _PROBE, 1.0)


def _count(store: Store, since: float, until: float, cap: int) -> int:
    return int(store.query(COUNT_UPTO, (since, until, cap))[0][0])


def _narrow(store: Store, wide: float, short: float, until: float, n: int) -> float:
    """Bisect between a window start holding too many (``wide``) and one holding fewer
    than ``n`` (``short``) for one holding ``n`` up to the cap; ``wide`` if ties (or the
    guard) stop it first. Each step counts at most the cap."""
    cap = _cap(n)
    for _ in range(_BISECT):
        mid = wide + (short - wide) / 2
        if not wide < mid < short:
            break
        count = _count(store, mid, until, cap)
        if count < n:
            short = mid
        elif count >= cap:
            wide = mid
        else:
            return mid
    return wide


def _cap(n: int) -> int:
    return n + n // 2 + 1


def window_since(store: Store, since: float, until: float, n: int) -> float:
    """``since`` narrowed so that ``[window_since, until)`` still holds the ``n`` newest
    receipts of ``[since, until)`` (see the module docstring) and, on PostgreSQL, at
    most half as many again (ties at its start aside): a walk of the newest ``n`` then
    sorts only that window. ``n`` >= 1."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if store.kind != "postgresql":
        return since  # an ordered index (SQLite) or Python (memory) walks from the top
    top, span = _first_window(store, since, until, n)
    short, before = top, -1
    while True:
        lo = max(since, top - span)
        count = _count(store, lo, until, _cap(n))
        if count >= _cap(n):
            return _narrow(store, lo, short, until, n)
        if count >= n or lo <= since:
            return lo
        # A wider window found nothing more: past the oldest receipt (an open range
        # would otherwise widen until the span overflows), or a gap in the traffic.
        if count == before and not _count(store, since, lo, 1):
            return since
        short, before = lo, count
        grow = _GROW_MAX if not count else min(_GROW_MAX, _SLACK * n / count)
        # Stretched back from its top: receipts newer than the top (had the guess missed
        # some) are in every window, as each ends at ``until``.
        span = max(span * grow, span + 1.0)


def newest_cutoff(store: Store, since: float, until: float, n: int) -> float | None:
    """The timestamp of the ``n``-th newest receipt of ``[since, until)``; ``None`` when
    the range holds fewer than ``n``. ``n`` >= 1."""
    if n > MAX_ROWS:
        return None  # more than any store holds (and SQL's 64-bit limits would overflow)
    lo = window_since(store, since, until, n)
    found = store.query(NTH_NEWEST, (lo, until, n - 1))
    return float(found[0][0]) if found else None
