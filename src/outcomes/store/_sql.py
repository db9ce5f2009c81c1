"""What the SQLite and PostgreSQL stores share: SQL generation, migrations, streaming."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

from outcomes._redact import scrub_json, scrub_stored
from outcomes._table import Table
from outcomes.errors import MigrationError, StoreError, StoreUnavailableError
from outcomes.records import Receipt
from outcomes.store._aggregates import (
    Aggregate,
    aggregates_of,
    change_rows,
    registered_aggregates,
)
from outcomes.store._base import (
    Condition,
    Migration,
    MigrationStatus,
    Scan,
    StoreBase,
    StoreKind,
    check_changes,
    check_finite,
    check_where,
)
from outcomes.store._ids import decode_row, encode_id
from outcomes.store._query import Query, Row
from outcomes.store._rollups import Delta, apply_sql, new_receipt_rows, rebuild_sql
from outcomes.store._schema import CORE_MIGRATIONS, MIGRATIONS_TABLE

logger = logging.getLogger("outcomes.store")

R = TypeVar("R")

RECEIPTS = Receipt.__table__

SCAN_BATCH = 2_000
"""Rows fetched per round trip while streaming a scan (bounds memory)."""

# Connections inherited across fork() are never used or closed by the child: closing a
# SQLite handle in the child can disturb the parent's locks. They are parked here.
_FORK_ORPHANS: list[Any] = []


def render_where(where: Sequence[Condition]) -> tuple[str, list[Any]]:
    """Render ANDed conditions with ``?`` placeholders; returns (clause, params)."""
    parts: list[str] = []
    params: list[Any] = []
    for column, op, value in where:
        if op == "is null":
            parts.append(f"{column} IS NULL")
        elif op == "is not null":
            parts.append(f"{column} IS NOT NULL")
        elif op == "in":
            values = list(value)
            if not values:
                parts.append("1 = 0")
            else:
                parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        else:
            parts.append(f"{column} {op} ?")
            params.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def fetch_batches(cur: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``cur``'s query, fetched ``SCAN_BATCH`` at a time (bounded memory)."""
    while True:
        rows = cur.fetchmany(SCAN_BATCH)
        if not rows:
            return
        yield from rows


class SqlStore(StoreBase):
    """Base of the SQL stores. Subclasses provide connections and dialect details.

    One write connection per process, guarded by a lock (the background writer and any
    synchronous writer share it); reads use one connection per thread. After ``fork`` a
    child opens its own connections on first use.
    """

    dialect: ClassVar[StoreKind]
    TYPES: ClassVar[dict[str, str]]
    ENGINE_MIGRATIONS: ClassVar[tuple[Migration, ...]] = ()
    """Migrations of this engine only, applied after the core ones."""

    def __init__(self, *, auto_migrate: bool = True) -> None:
        self._wlock = threading.RLock()
        self._local = threading.local()
        self._pid = os.getpid()
        self._wconn: Any = None
        self._closed = False
        self._applied_cache: set[str] = set()
        self._applied_read = False
        self._insert_cache: dict[str, str] = {}
        self._reader_conns: list[Any] = []
        self._readers_lock = threading.Lock()
        self._tables_seen: set[str] = set()
        if auto_migrate:
            self.migrate()

    # -- provided by subclasses -------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _write_transaction(self, conn: Any, own: bool = False) -> AbstractContextManager[Any]:
        """A cursor in an open write transaction, committed when the block ends, rolled
        back when it raises. ``own``: the work sends ``BEGIN`` and ``COMMIT`` itself (with
        other statements, :meth:`_owns_transaction`); the block still rolls back on error."""
        raise NotImplementedError

    def _owns_transaction(self, batches: list[tuple[Table[Any], Any]]) -> bool:
        """Whether the write of these prepared batches opens and commits its transaction
        itself (``own`` of :meth:`_write_transaction`); no store's does by default."""
        return False

    INSERT_SQL: ClassVar[str]
    """The dialect's insert that skips a row whose key exists, with ``{table}``,
    ``{cols}``, ``{marks}`` (``?`` placeholders) and ``{key}`` to fill per table."""

    def _insert_sql(self, table: Table[Any]) -> str:
        sql = self._insert_cache.get(table.name)
        if sql is None:
            cols = table.column_names
            sql = self._sql(
                self.INSERT_SQL.format(
                    table=table.name,
                    cols=", ".join(cols),
                    marks=", ".join("?" for _ in cols),
                    key=table.key,
                )
            )
            self._insert_cache[table.name] = sql
        return sql

    def _insert_rows(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (skipping existing keys) in the open transaction; returns how
        many were new."""
        cur.executemany(self._insert_sql(table), rows)
        return max(int(cur.rowcount), 0)

    def _sql(self, sql: str) -> str:
        """Translate ``?`` placeholders to the driver's style."""
        return sql

    def _id_columns(self, table: Table[Any]) -> tuple[str, ...]:
        """Columns of ``table`` this engine stores compactly (store/_ids.py): encoded in
        the values of conditions, decoded in the rows read. None here."""
        return ()

    def _encode_id(self, value: Any) -> Any:
        """An id (text) as this engine stores it (store/_ids.py)."""
        return encode_id(value)

    def _stored_where(self, table: Table[Any], where: Sequence[Condition]) -> list[Condition]:
        ids = self._id_columns(table)
        if not ids:
            return list(where)
        enc = self._encode_id
        out: list[Condition] = []
        for column, op, value in where:
            if column not in ids:
                out.append((column, op, value))
            elif op == "in":
                out.append((column, op, [enc(v) for v in value]))
            else:
                out.append((column, op, enc(value)))
        return out

    def _where(self, table: Table[Any], where: Sequence[Condition]) -> tuple[str, list[Any]]:
        """The WHERE clause (``?`` placeholders) and parameters of ``where`` on ``table``,
        ids encoded as stored."""
        return render_where(self._stored_where(table, where))

    def _lock_for_migrations(self, cur: Any) -> None:
        """Serialize concurrent migrators (no-op where the write lock already does)."""

    def _lock_for_rollups(self, cur: Any) -> None:
        """Serialize writers of receipts, whose transactions read and write the rollups
        (no-op where ``BEGIN IMMEDIATE`` already does)."""

    def _translate_error(self, exc: Exception) -> Exception:
        return StoreError(f"{self.dialect} store error: {exc}")

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        raise NotImplementedError

    def _is_retryable(self, exc: Exception) -> bool:
        return False

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        conn = self._reader()
        cur = conn.cursor()
        try:
            cur.execute(self._sql(sql), params)
            yield from fetch_batches(cur)
        finally:
            cur.close()

    def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self._stream(sql, params))

    # -- connections ------------------------------------------------------------------
    @property
    def kind(self) -> StoreKind:
        return self.dialect

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            _FORK_ORPHANS.append(self._wconn)
            _FORK_ORPHANS.extend(self._reader_conns)
            self._wconn = None
            self._local = threading.local()
            self._reader_conns = []
            self._wlock = threading.RLock()
            self._readers_lock = threading.Lock()
            self._pid = os.getpid()

    def _writer(self) -> Any:
        if self._closed:
            raise StoreError("store is closed")
        self._check_fork()
        if self._wconn is None:
            self._wconn = self._connect()
        return self._wconn

    def _reader(self) -> Any:
        if self._closed:
            raise StoreError("store is closed")
        self._check_fork()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._reader_conns.append(conn)
        return conn

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pid != os.getpid():
            return
        with self._wlock:
            conns = [self._wconn, *self._reader_conns]
            self._wconn = None
            self._reader_conns = []
        for conn in conns:
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # pragma: no cover - closing is best effort
                    logger.debug("error closing connection", exc_info=True)

    # -- writes -----------------------------------------------------------------------
    def _run_write(self, work: Any, own: bool = False) -> Any:
        """Run ``work(cursor)`` in one write transaction, retrying transient lock errors
        (``own``: as :meth:`_write_transaction` takes it)."""
        attempts = 0
        while True:
            with self._wlock:
                try:
                    conn = self._writer()
                    with self._write_transaction(conn, own) as cur:
                        return work(cur)
                except self._driver_errors() as exc:
                    attempts += 1
                    if self._is_retryable(exc) and attempts < 8:
                        delay = min(0.05 * 2**attempts, 2.0)
                        logger.debug("store busy (%s); retrying in %.2fs", exc, delay)
                    else:
                        raise self._translate_error(exc) from exc
            time.sleep(delay)

    def write(self, records: Sequence[Any]) -> int:
        groups: dict[str, tuple[Table[Any], list[Any]]] = {}
        if len(set(map(type, records))) == 1:  # the usual batch: one kind of record
            table: Table[Any] = type(records[0]).__table__
            groups[table.name] = (table, list(records))
        else:
            for record in records:
                table = type(record).__table__
                entry = groups.get(table.name)
                if entry is None:
                    entry = groups[table.name] = (table, [])
                entry[1].append(record)
        if not groups:
            return 0
        batches = [(table, self._prepare(table, group)) for table, group in groups.values()]

        def work(cur: Any) -> int:
            inserted = 0
            for table, batch in batches:
                if table is RECEIPTS:
                    inserted += self._write_receipts(cur, batch)
                else:
                    inserted += self._insert_aggregated(cur, table, batch)
            return inserted

        result: int = self._run_write(work, self._owns_transaction(batches))
        return result

    def _prepare(self, table: Table[Any], records: list[Any]) -> Any:
        """What the insert of ``records`` into ``table`` takes, built before the write
        transaction (raises on a value no store may keep): here their rows, scrubbed and
        checked finite. A store that inserts receipts its own way prepares them its way."""
        rows = [table.to_row(record) for record in records]
        for row in rows:
            check_finite(table, row)
        return rows

    def _write_receipts(self, cur: Any, batch: Any) -> int:
        """Insert receipts as :meth:`_prepare` gave them and fold the new ones into the
        rollups, in the open transaction; returns how many were new."""
        self._lock_for_rollups(cur)
        added, delta = self._insert_receipts(cur, batch)
        self._apply_rollups(cur, delta)
        return added

    def _insert_receipts(self, cur: Any, rows: Any) -> tuple[int, Delta]:
        """Insert receipts as :meth:`_prepare` gave them (rollup lock held); returns (how
        many were new, what the new ones add to the rollups)."""
        fresh = new_receipt_rows(rows, lambda ids: self._stored_ids(cur, ids))
        return self._insert_rows(cur, RECEIPTS, rows), Delta.of(fresh)

    def _apply_rollups(self, cur: Any, delta: Delta) -> None:
        """Add what a batch's new receipts fold to into the rollups (same transaction)."""
        apply_sql(cur, self._sql, delta)

    def _lock_for_aggregates(self, cur: Any, table: Table[Any]) -> None:
        """Serialize writers of a table that has aggregates (no-op where ``BEGIN
        IMMEDIATE`` already does)."""

    def _aggregates(self, table: Table[Any]) -> list[Aggregate]:
        """The aggregates of ``table`` whose target this database has (a database not
        yet migrated leaves them to the migration's backfill)."""
        found = []
        for agg in aggregates_of(table):
            if agg.name not in self._tables_seen:
                if not self._table_exists(agg.name):
                    continue
                self._tables_seen.add(agg.name)
            found.append(agg)
        return found

    def _insert_aggregated(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> int:
        """Insert ``rows`` and fold those the insert added into ``table``'s aggregates
        (``store/_aggregates.py``), in the open transaction."""
        aggs = self._aggregates(table)
        if not aggs:
            return self._insert_rows(cur, table, rows)
        self._lock_for_aggregates(cur, table)
        cur.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table.name}")
        before = int(cur.fetchone()[0])
        added = self._insert_rows(cur, table, rows)
        if added:
            for agg in aggs:
                cur.execute(self._sql(agg.fold_sql(self.dialect)), [before, added])
        return added

    def _change(
        self,
        table: Table[Any],
        sql: str,
        params: Sequence[Any],
        rows: tuple[str, Sequence[Any]],
        *,
        update: bool,
    ) -> int:
        """Run one change of ``table`` (a delete, or an update) of the rows matching
        ``rows`` (a condition and its params), in a transaction that keeps the table's
        aggregates: the rows' contribution is taken back before (and added again after
        an update) where every aggregate is invertible; otherwise they are rebuilt when
        anything changed. Returns the rowcount."""
        aggs = self._aggregates(table)

        def work(cur: Any) -> int:
            if aggs:
                self._lock_for_aggregates(cur, table)
            return change_rows(cur, self._sql, self.dialect, aggs, (sql, params), rows, update)

        return int(self._run_write(work))

    def rebuild_aggregates(self, source: Table[Any] | None = None) -> int:
        """Rebuild every registered aggregate (of ``source`` only, when given) this
        database has from its source table (one transaction); returns how many."""
        aggs = [
            a
            for a in registered_aggregates()
            if (source is None or a.source is source) and a in self._aggregates(a.source)
        ]

        def work(cur: Any) -> int:
            for agg in aggs:
                self._lock_for_aggregates(cur, agg.source)
                for statement in agg.rebuild_sql():
                    cur.execute(statement)
            return len(aggs)

        return int(self._run_write(work))

    def _stored_ids(self, cur: Any, ids: list[str]) -> set[str]:
        marks = ", ".join("?" for _ in ids)
        cur.execute(
            self._sql(f"SELECT receipt_id FROM receipts WHERE receipt_id IN ({marks})"), ids
        )
        return {str(r[0]) for r in cur.fetchall()}

    def rebuild_rollups(self) -> int:
        """Refold every stored receipt into the rollup tables (one transaction); returns
        how many receipts were folded."""

        def work(cur: Any) -> int:
            self._lock_for_rollups(cur)
            return rebuild_sql(cur, self._sql)

        return int(self._run_write(work))

    # The three raw-SQL methods below are the store's own tools (migrations, tests); wings
    # never call them: they declare named queries (store/_query.py) instead.
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement (``?`` placeholders) in a transaction; returns rowcount."""

        def work(cur: Any) -> int:
            cur.execute(self._sql(sql), list(params))
            return int(cur.rowcount)

        result: int = self._run_write(work)
        return result

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query (``?`` placeholders) and return all rows."""
        try:
            return self._fetch_all(sql, list(params))
        except self._driver_errors() as exc:
            raise self._translate_error(exc) from exc

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Stream the rows of a read query with bounded memory."""
        try:
            yield from self._stream(sql, list(params))
        except self._driver_errors() as exc:
            raise self._translate_error(exc) from exc

    # -- generic table operations ------------------------------------------------------
    def _scan(self, table: Table[R], scan: Scan) -> Iterator[R]:
        where, order_by, descending = scan.where, scan.order_by, scan.descending
        if scan.after_seq is not None:
            where = [*where, ("seq", ">", int(scan.after_seq))]
        clause, params = self._where(table, where)
        direction = "DESC NULLS LAST" if descending else "ASC NULLS FIRST"
        seq_dir = "DESC" if descending else "ASC"
        order = f"seq {seq_dir}"
        if order_by is not None and order_by != "seq":
            order = f"{order_by} {direction}, seq {seq_dir}"
        sql = f"SELECT {', '.join(table.column_names)} FROM {table.name}{clause} ORDER BY {order}"
        if scan.limit is not None:
            sql += f" LIMIT {max(int(scan.limit), 0)}"
        from_row = table.from_row
        ids = self._id_columns(table)
        if ids:
            names = table.column_names
            positions = tuple(names.index(c) for c in ids)
            for row in self.iterate(sql, params):
                yield from_row(decode_row(row, positions))
            return
        for row in self.iterate(sql, params):
            yield from_row(row)

    def query(self, query: Query, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.iter_query(query, params))

    def iter_query(self, query: Query, params: Sequence[Any] = ()) -> Iterator[Row]:
        sql, values = query.render(self.dialect, params)
        rows = self.iterate(sql, values)
        if query.ids and self._id_columns(RECEIPTS):
            # Python, not SQL: formatting the text in SQL (hex, substr) cost more than
            # the rest of an export row.
            ids = query.ids
            return (decode_row(row, ids) for row in rows)
        return rows

    def count(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        check_where(table, where)
        clause, params = self._where(table, where)
        rows = self.fetch(f"SELECT COUNT(*) FROM {table.name}{clause}", params)
        return int(rows[0][0])

    def delete(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        check_where(table, where)
        clause, params = self._where(table, where)
        rows = (clause.removeprefix(" WHERE ") or "1 = 1", params)
        return self._change(table, f"DELETE FROM {table.name}{clause}", params, rows, update=False)

    def update(self, table: Table[Any], key: Any, changes: Mapping[str, Any]) -> bool:
        if not changes:
            return self.count(table, where=[(table.key, "=", key)]) > 0
        check_changes(table, changes)
        columns = {c.name: c for c in table.columns}
        sets: list[str] = []
        params: list[Any] = []
        for name, value in changes.items():
            col = columns[name]
            text = col.type == "text" and isinstance(value, str)  # to_row's scrub, as memory's
            stored = scrub_stored(value) if text else value
            stored = self._encode_id(stored) if name in self._id_columns(table) else stored
            if col.type == "json" and value is not None:
                stored = json.dumps(scrub_json(value), separators=(",", ":"), ensure_ascii=False)
            if col.type == "float" and value is not None and not math.isfinite(value):
                raise ValueError(f"{table.name}.{name} must be finite, got {value!r}")
            sets.append(f"{name} = ?")
            params.append(stored)
        params.append(self._encode_id(key) if table.key in self._id_columns(table) else key)
        sql = f"UPDATE {table.name} SET {', '.join(sets)} WHERE {table.key} = ?"
        rows = (f"{table.key} = ?", [params[-1]])
        return self._change(table, sql, params, rows, update=True) > 0

    # -- migrations -------------------------------------------------------------------
    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        if not self._applied_read:
            # One read tells which migrations the database already has: opening a
            # current store (every command, every process) then takes no write lock.
            # A migration missing here still goes through the locked check below.
            self._applied_read = True
            if self._table_exists(MIGRATIONS_TABLE):
                self._applied_cache.update(
                    str(r[0]) for r in self.fetch(f"SELECT name FROM {MIGRATIONS_TABLE}")
                )
        everything = (*CORE_MIGRATIONS, *self.ENGINE_MIGRATIONS, *migrations)
        wanted = [m for m in everything if m.name not in self._applied_cache]
        if not wanted:
            return []
        done: list[str] = []
        for m in wanted:

            def work(cur: Any, m: Migration = m) -> bool:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                    f"(name TEXT PRIMARY KEY, applied_at {self.TYPES['real']} NOT NULL)"
                )
                self._lock_for_migrations(cur)
                cur.execute(self._sql(f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE name = ?"), [m.name])
                if cur.fetchone() is not None:
                    return False
                for statement in m.render(self.TYPES):
                    cur.execute(statement)
                if m.run is not None:
                    m.run(cur, self._sql)
                cur.execute(
                    self._sql(f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)"),
                    [m.name, time.time()],
                )
                return True

            try:
                if self._run_write(work):
                    done.append(m.name)
                    logger.info("applied migration %s to %s", m.name, self.url)
            except StoreUnavailableError:
                raise
            except StoreError as exc:
                raise MigrationError(f"migration {m.name} failed: {exc}") from exc
            self._applied_cache.add(m.name)
        return done

    def migration_status(self, known: Sequence[Migration] = ()) -> MigrationStatus:
        names = [m.name for m in (*CORE_MIGRATIONS, *self.ENGINE_MIGRATIONS, *known)]
        exists = self._table_exists(MIGRATIONS_TABLE)
        rows = (
            self.fetch(f"SELECT name, applied_at FROM {MIGRATIONS_TABLE} ORDER BY applied_at, name")
            if exists
            else []
        )
        applied = tuple((str(n), float(t)) for n, t in rows)
        applied_names = {n for n, _ in applied}
        return MigrationStatus(
            applied=applied,
            pending=tuple(n for n in names if n not in applied_names),
            unknown=tuple(n for n, _ in applied if n not in names),
        )

    def _table_exists(self, name: str) -> bool:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError
