"""The PostgreSQL writer's read of the rollup rows a batch merges into, and its cache.

A batch's receipts are merged into the stored rollup rows they touch (``_pg_write.py``:
the latency sketch is merged in Python). Reading those rows back and decoding them
(the sketch's ``index:count`` text above all) cost the client about a tenth of what a
whole batch cost it; yet when one process writes, they are the very rows it wrote in
its previous transaction.

So the writer remembers the rows it wrote, decoded (:class:`XminCache`), with the id of
the transaction that wrote them, and asks the server for each touched row whether its
``xmin`` (the transaction that wrote the row version the server holds) is still that
one. Where it is, the row comes back as its key alone and the remembered stats are used;
where it is not (another process wrote it since, a rebuild replaced it, or the writer
does not know the row), the row comes back whole, as before. A row version's ``xmin``
changes with every update, delete or insert, so the check needs nothing else of the
other writers (no counter to bump, no trigger, no migration). ``xmin`` is 32 bits and
wraps around: the cache is emptied once it is :data:`MAX_AGE` transactions old, well
inside the 2**31 transactions over which the server keeps ids apart.
"""

from __future__ import annotations

from typing import Any

from outcomes.stats._profiles import OutcomeStats
from outcomes.store._rollups import UPSERTS, RollupCache, chunks

MAX_AGE = 2**30
"""Transactions after which a cache is dropped whole (``xmin`` wraps at 2**32)."""
_XID_BITS = 0xFFFF_FFFF
_NEVER = -1  # the expected xmin of a row the writer does not know: matches none
_XID = "SELECT txid_current()"
Known = tuple[OutcomeStats, int]


class XminCache(RollupCache):
    """:class:`RollupCache` for PostgreSQL: each remembered row also keeps the 32-bit id
    of the transaction that wrote it (``xids``); ``version`` is the full transaction id
    the cache started at. Rows merged in the open transaction wait in ``pending`` until
    :meth:`committed` (the store drops the cache when a transaction fails)."""

    __slots__ = ("pending_xid", "xids")

    def __init__(self, version: int = 0) -> None:
        super().__init__(version)
        self.xids: dict[str, dict[Any, int]] = {which: {} for which in UPSERTS}
        self.pending_xid = _NEVER

    def reset(self, version: int) -> None:
        """Forget every row: start again at transaction ``version``."""
        self.__init__(version)  # type: ignore[misc]

    def committed(self) -> None:
        """The open transaction committed: its rows are now known, with its id."""
        if self.pending_xid == _NEVER:
            return
        for which, rows in self.pending.items():
            self.xids[which].update(dict.fromkeys(rows, self.pending_xid))
        self.commit(())
        self.pending_xid = _NEVER


def _select_sql(which: str, n: int) -> str:
    """Rows of ``n`` keys: the key, whether ``xmin`` is the expected one, then the stat
    columns (NULL when it is)."""
    table, key = UPSERTS[which]
    stats = [c for c in table.column_names if c not in key]
    same = "r.xmin::text::bigint = v.xid"
    one = "(" + ", ".join("%s" for _ in key) + ", %s::bigint)"
    return (
        f"SELECT {', '.join(f'r.{c}' for c in key)}, {same}, "
        + ", ".join(f"CASE WHEN {same} THEN NULL ELSE r.{c} END" for c in stats)
        + f" FROM {table.name} AS r JOIN (VALUES {', '.join(one for _ in range(n))}) "
        f"AS v({', '.join(key)}, xid) ON " + " AND ".join(f"r.{c} = v.{c}" for c in key)
    )


class RollupReads:
    """The stored rollup rows of some keys (:func:`touched_keys`) and the current
    transaction id, read in the caller's pipeline: sent by the constructor, answered by
    :meth:`collect`."""

    def __init__(self, conn: Any, keys: dict[str, list[tuple[Any, ...]]], cache: XminCache) -> None:
        self.cache = cache
        self.xid = conn.cursor()
        self.xid.execute(_XID)
        self.sent: list[tuple[str, int, Any]] = []
        for which, (_, key) in UPSERTS.items():
            xids = cache.xids[which]
            for part in chunks(keys[which]):
                cur = conn.cursor()
                params = [v for k in part for v in (*k, xids.get(k, _NEVER))]
                cur.execute(_select_sql(which, len(part)), params)
                self.sent.append((which, len(key), cur))

    def collect(self) -> tuple[dict[str, dict[Any, Any]], dict[str, dict[Any, Known]]]:
        """(key -> stat columns of the rows read whole, key -> remembered (stats,
        receipts) of the rows unchanged since this writer wrote them), per table."""
        xid = int(self.xid.fetchone()[0])
        self.xid.close()
        cache = self.cache
        current: dict[str, dict[Any, Any]] = {which: {} for which in UPSERTS}
        known: dict[str, dict[Any, Known]] = {which: {} for which in UPSERTS}
        for which, width, cur in self.sent:
            rows, mine = current[which], known[which]
            remembered = cache.rows[which]
            for row in cur.fetchall():
                key = tuple(row[:width])
                if row[width]:
                    mine[key] = remembered[key]
                else:
                    rows[key] = row[width + 1 :]
            cur.close()
        # Only now: the rows sent as remembered came back as keys alone, and a reset
        # before taking them (as once) lost them (a KeyError failed the batch). Those
        # taken are still exact: a false match of 32 bits needs 2**32 transactions.
        if xid - cache.version > MAX_AGE:
            cache.reset(xid)
        cache.pending_xid = xid & _XID_BITS
        return current, known
