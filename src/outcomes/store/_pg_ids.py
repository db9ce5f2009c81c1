"""Which of a batch's receipt ids PostgreSQL already stores: the writer's look-up.

``receipts`` is partitioned by month, and its unique keys (one per month, ``pg.0004``;
``(receipt_id, timestamp)`` before) cannot see an id reused in another month
(``_partitions.py``), so the writer looks the batch's ids up first, holding the rollup
lock. Probing the index once per id cost the
server about 4 us an id (1000 ids: 4.2 ms of server CPU, a sixth of what the server
spent on a whole batch, ``/proc/<pid>/schedstat``).

Ids that ``outcomes`` mints are time-ordered (UUIDv7: their first 48 bits are Unix
milliseconds), stored as their 16 bytes (pg.0002), and a batch's fresh ids were minted
within seconds of each other. So the ids are sorted and split into **runs** of ids
minted within :data:`RUN_GAP_MS` of the previous one, and each run of two or more is
looked up as one key range: a handful of index descents (one per partition) and a read
of whatever lies between, which is nothing when one writer writes (and a few others'
receipts when several interleave). The stored ids come back and are matched in
Python. A range that turns out to hold more than :data:`RANGE_CAP` rows per id of its
run (ids that only look time-ordered, a long import) is probed id by id after all, in
one more round trip; so is every id outside a run (a late signal's id is a hash, a
user's id is any text). Ids stored as text (before pg.0002) keep the probe per id: the
server orders text by its collation, which Python's order need not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from operator import itemgetter, sub
from typing import Any

from outcomes.store._partitions import FUTURE, MONTHS_SPAN, PAST

RUN_GAP_MS = 60_000
"""Ids minted further apart than this (milliseconds of their UUIDv7 time) start a new
run. A design bound, not fitted: a wider gap lets a run's range take in more receipts
of other writers, a narrower one sends ids minted at a slow rate id by id."""
RANGE_CAP = 2
"""A run's range is read up to this many stored rows per id of the run; past that its
ids are probed one by one (reading a row of the range costs less than a probe)."""

_SEP = "\n"
# One index probe per id and month partition. The months are named by a condition on
# ``timestamp`` (pruned when planned); the two open-ended partitions, almost always
# empty, are probed only when the one-time check finds a row in either: probing them
# for every id cost as much as probing the month (1000 ids: 2.0 -> 0.9 ms, EXPLAIN
# ANALYZE). ``= ANY(array)`` reads the same, but on a month too new to have statistics
# the planner picks a sequential scan testing each row against the whole array
# (measured: 3-6x slower at 1000 ids on 50k rows); the lateral form cannot. The ids
# travel as one text split by the server (psycopg's dump of a 1000-element list cost
# 1.4 ms of client CPU per batch, the join nothing); the answer is the positions of
# the stored ones (1-based). Ids stored compact (pg.0002) travel in their stored form,
# as hex: encoding each text id in SQL (``id_stored``, a pattern match per id) made the
# look-up 16.5 ms instead of 1.05 (1000 ids, EXPLAIN ANALYZE).
STORED_IDS = (
    "SELECT i.n FROM unnest({ids}) WITH ORDINALITY AS i(v, n) CROSS JOIN LATERAL ("
    "SELECT 1 FROM receipts AS r WHERE r.receipt_id = {key} "
    "AND r.timestamp >= {lo!r} AND r.timestamp < {hi!r} "
    "UNION ALL SELECT 1 FROM receipts AS r WHERE r.receipt_id = {key} "
    "AND (r.timestamp < {lo!r} OR r.timestamp >= {hi!r}) "
    "AND (SELECT EXISTS (SELECT 1 FROM {past}) OR EXISTS (SELECT 1 FROM {future})) "
    "LIMIT 1) AS found"
)
_LAYOUT = {"lo": MONTHS_SPAN[0], "hi": MONTHS_SPAN[1], "past": PAST, "future": FUTURE}
_BY_TEXT = STORED_IDS.format(ids="string_to_array(%s, E'\\n')", key="i.v", **_LAYOUT)
_BY_ARRAY = STORED_IDS.format(ids="%s::text[]", key="i.v", **_LAYOUT)
_BY_HEX = STORED_IDS.format(ids="string_to_array(%s, ',')", key="decode(i.v, 'hex')", **_LAYOUT)
# Every partition (no condition on timestamp): an id is stored once whatever its time.
_IN_RANGE = "SELECT receipt_id FROM receipts WHERE receipt_id >= %s AND receipt_id <= %s LIMIT %s"
_UUID_BYTES = 16
_MS_BYTES = 6  # UUIDv7: 48 bits of Unix milliseconds first


def send_stored_ids(cur: Any, ids: Sequence[Any]) -> None:
    """Send the probe, id by id, of which of ``ids`` (as ``receipts`` keeps them: text,
    or bytes once compact) are stored; ``fetchall`` gives their positions in ``ids``
    (from 1)."""
    if ids and type(ids[0]) is bytes:
        cur.execute(_BY_HEX, [",".join(map(bytes.hex, ids))])
        return
    joined = _SEP.join(ids)
    if joined.count(_SEP) == len(ids) - 1:
        cur.execute(_BY_TEXT, [joined])
    else:  # an id holding the separator: the array parameter, slower but exact
        cur.execute(_BY_ARRAY, [list(ids)])


def runs(ids: Sequence[Any]) -> tuple[list[list[Any]], list[int]]:
    """The runs of ``ids`` (distinct): lists of two or more ids of 16 bytes, sorted, each
    minted within :data:`RUN_GAP_MS` of the one before; and the positions of the rest."""
    wide = sorted(v for v in ids if type(v) is bytes and len(v) == _UUID_BYTES)
    rest = [i for i, v in enumerate(ids) if type(v) is not bytes or len(v) != _UUID_BYTES]
    if not wide:
        return [], rest
    cuts: list[int] = []
    if _millis(wide[-1]) - _millis(wide[0]) > RUN_GAP_MS:  # else one run: no gap is wider
        ms = list(map(_millis, wide))
        cuts = [k for k, gap in enumerate(map(sub, ms[1:], ms[:-1]), 1) if gap > RUN_GAP_MS]
    out: list[list[Any]] = []
    where: dict[Any, int] | None = None
    for a, b in pairwise((0, *cuts, len(wide))):
        if b - a > 1:
            out.append(wide[a:b])
        else:
            where = where or {v: i for i, v in enumerate(ids)}
            rest.append(where[wide[a]])
    return out, rest


def _millis(uuid: bytes) -> int:
    return int.from_bytes(uuid[:_MS_BYTES], "big")


class StoredIds:
    """The look-up of which of ``ids`` (distinct) are stored, sent in the caller's
    pipeline by the constructor; :meth:`collect` answers (positions in ``ids``)."""

    def __init__(self, conn: Any, ids: Sequence[Any]) -> None:
        self.conn, self.ids = conn, ids
        self.ranges: list[tuple[Any, list[Any]]] = []
        probe: Sequence[int] = range(len(ids))
        if ids and type(ids[0]) is bytes:
            found, probe = runs(ids)
            for run in found:
                cur = conn.cursor()
                cur.execute(_IN_RANGE, [run[0], run[-1], RANGE_CAP * len(run) + 1])
                self.ranges.append((cur, run))
        self.probe = self._send_probe(probe)

    def _send_probe(self, positions: Sequence[int]) -> tuple[Any, Sequence[int]] | None:
        if not positions:
            return None
        cur = self.conn.cursor()
        send_stored_ids(cur, [self.ids[i] for i in positions])
        return cur, positions

    def collect(self) -> set[int]:
        found: set[Any] = set()
        again: list[Any] = []
        for cur, run in self.ranges:
            rows = cur.fetchall()
            cur.close()
            if len(rows) > RANGE_CAP * len(run):
                again.extend(run)
            elif rows:
                found.update(set(map(bytes, map(itemgetter(0), rows))).intersection(run))
        stored: set[int] = set()
        if found or again:
            where = {v: i for i, v in enumerate(self.ids)}
            stored.update(map(where.__getitem__, found))
            again_at = self._send_probe(list(map(where.__getitem__, again)))
        else:
            again_at = None
        for probe in (self.probe, again_at):
            if probe is not None:
                cur, positions = probe
                stored.update(positions[int(r[0]) - 1] for r in cur.fetchall())
                cur.close()
        return stored
