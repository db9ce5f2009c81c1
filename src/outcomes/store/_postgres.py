"""The PostgreSQL store (psycopg 3), for teams and several hosts sharing one database."""

from __future__ import annotations

import contextlib
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from outcomes._table import Table
from outcomes.errors import StoreError, StoreUnavailableError
from outcomes.store._base import Condition, Migration, StoreKind, check_cutoff
from outcomes.store._ids import ID_COLUMNS, decode_row, encode_id_bytes
from outcomes.store._partitions import (
    ROLLUP_LOCK_KEY,
    Partitions,
    create_partitions,
    drop_before,
    is_partitioned,
)
from outcomes.store._pg_compact import PG_MIGRATIONS, is_compact, trace_condition
from outcomes.store._pg_read import (
    CONNECT_TIMEOUT_S,
    PG_MIGRATION_NAMES,
    connect_error,
    hide_password,
)
from outcomes.store._pg_rollup_reads import XminCache
from outcomes.store._pg_upkeep import Upkeep
from outcomes.store._pg_write import (
    COPY_MIN_ROWS,
    UNPARTITIONED_STORED_IDS,
    copy_types,
    prepare,
    write_receipts,
)
from outcomes.store._query import Query, Row
from outcomes.store._sql import RECEIPTS, SCAN_BATCH, SqlStore, fetch_batches, render_where

_TS = RECEIPTS.column_names.index("timestamp")
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK_KEY = 0x6F7574636F6D6573  # "outcomes"
_AGGREGATE_LOCK_BASE = 0x6167_0000_0000  # "ag", then the table name's CRC-32


def _driver() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise StoreUnavailableError(
            "PostgreSQL needs the psycopg driver: pip install 'outcomes[postgres]'"
        ) from exc
    return psycopg


class PostgresStore(SqlStore):
    """A :class:`~outcomes.store.Store` in a PostgreSQL database.

    ``schema`` (optional) keeps the tables in their own schema, created if missing; the
    tests use it to isolate runs that share one server. ``durable=False`` sets
    ``synchronous_commit = off`` for the writer connection.
    """

    dialect: ClassVar[StoreKind] = "postgresql"
    INSERT_SQL = "INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING"
    ENGINE_MIGRATIONS: ClassVar[tuple[Migration, ...]] = PG_MIGRATIONS
    TYPES: ClassVar[dict[str, str]] = {
        "pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "int": "BIGINT",
        "real": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "json": "TEXT",
    }

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        durable: bool = True,
        auto_migrate: bool = True,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self._psycopg = _driver()
        if schema is not None and not _SCHEMA_RE.match(schema):
            raise StoreUnavailableError(f"invalid schema name {schema!r}")
        self._dsn = url
        self._schema = schema
        self._durable = durable
        self._connect_timeout = connect_timeout
        self._scan_lock = threading.Lock()
        self._partitions = Partitions()
        self._partitioned: bool | None = None
        self._compact: bool | None = None
        self._copy_types: tuple[str, ...] | None = None  # () when the COPY goes as text
        self._rollup_cache: XminCache | None = None  # the writer's, _pg_rollup_reads.py
        self._upkeep = Upkeep()  # statistics and BRIN summaries of the months written
        super().__init__(auto_migrate=False)
        self._writer()  # fail early, and clearly, when the server is unreachable
        if auto_migrate:
            self.migrate()

    @property
    def url(self) -> str:
        return hide_password(self._dsn)

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def durable(self) -> bool:
        return self._durable

    def _connect(self) -> Any:
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(int(self._connect_timeout), 1),
        }
        if self._schema is not None:
            kwargs["options"] = f"-c search_path={self._schema}"
        try:
            conn = self._psycopg.connect(self._dsn, **kwargs)
        except self._psycopg.Error as exc:
            raise connect_error(self._dsn, str(exc)) from exc
        if self._schema is not None:
            # IF NOT EXISTS is no guard against another connection creating it at the same
            # time (a unique violation in the catalog): then it exists, as wanted.
            with contextlib.suppress(self._psycopg.errors.UniqueViolation):
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._schema}")
        if not self._durable:
            conn.execute("SET synchronous_commit = off")
        # No JIT: it compiles a plan whose estimated cost passes `jit_above_cost`, and on
        # the store's reads it only added the compile time: 250-450 ms of a cell's newest
        # receipt at 1M (90 ms without), nothing gained on the rollup rebuild, the fold
        # since a time or the export (docs/scaling.md). A statement, not `options`, which
        # would replace the options a URL carries (its search_path).
        conn.execute("SET jit = off")
        # bytea's binary dumper is psycopg's DB-API one (a Python method per value, which
        # also takes ``Binary`` wrappers the store never makes); the plain one is C: the
        # binary COPY of a batch dumps two ids per receipt (1000 receipts: 0.9-1.5 ms of
        # client CPU less, at load 20).
        conn.adapters.register_dumper(bytes, self._psycopg.types.string.BytesBinaryDumper)
        return conn

    # A connection the server closed (a restart, a fail-over, an idle timeout, a
    # terminated backend) stays closed: without these two every later write and read of
    # the process failed with "the connection is closed". The statement that meets the
    # loss still fails (it may have committed or not); the next one connects again.
    def _writer(self) -> Any:
        if self._wconn is not None and self._wconn.closed and not self._closed:
            self._wconn = None
        return super()._writer()

    def _reader(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.closed and not self._closed:
            self._local.conn = None
            with self._readers_lock:
                self._reader_conns = [c for c in self._reader_conns if c is not conn]
        return super()._reader()

    @contextlib.contextmanager
    def _write_transaction(self, conn: Any, own: bool = False) -> Iterator[Any]:
        try:
            if not own:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            else:  # BEGIN and COMMIT go in the work's pipelines (_pg_write.py)
                with conn.cursor() as cur:
                    yield cur
                conn.commit()  # nothing to do when the work committed, as it does
        except BaseException:
            self._rollup_cache = None  # it holds what the failed transaction merged
            if own and not conn.closed:
                with contextlib.suppress(self._psycopg.Error):
                    conn.rollback()  # out of an aborted pipeline and its transaction
            raise
        if self._rollup_cache is not None:
            self._rollup_cache.committed()

    def _owns_transaction(self, batches: list[tuple[Table[Any], Any]]) -> bool:
        # Receipts alone on the partitioned table (known from an earlier write): their
        # write sends BEGIN with its first pipeline and COMMIT with its last, two waits
        # on the server fewer than a transaction() block's own.
        return len(batches) == 1 and batches[0][0] is RECEIPTS and self._partitioned is True

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def _insert_rows(self, cur: Any, table: Table[Any], rows: list[tuple[Any, ...]]) -> int:
        # COPY has no ON CONFLICT: rows are copied into a temporary table that empties at
        # commit, then inserted from it skipping existing keys. Small batches keep the
        # plain executemany, which costs fewer round trips for a handful of rows.
        if len(rows) < COPY_MIN_ROWS:
            return super()._insert_rows(cur, table, rows)
        cols = ", ".join(table.column_names)
        stage = f"outcomes_stage_{table.name}"
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM {table.name} WITH NO DATA"
        )
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage} "
            f"ON CONFLICT ({table.key}) DO NOTHING"
        )
        return max(int(cur.rowcount), 0)

    def write(self, records: Sequence[Any]) -> int:
        written = super().write(records)
        # After the commit: reads plan well without autovacuum. Under the write lock, as
        # the counting in _prepare is: another thread's batch may add a month meanwhile.
        with self._wlock:
            if self._upkeep.due():
                self._upkeep.run(self._writer())
        return written

    def _prepare(self, table: Table[Any], records: list[Any]) -> Any:
        if table is not RECEIPTS:
            return super()._prepare(table, records)
        return prepare(records, self._is_compact())

    def _write_receipts(self, cur: Any, batch: Any) -> int:
        if not self._is_partitioned(cur):  # before pg.0001: the generic path, by rows
            return super()._write_receipts(cur, list(zip(*batch, strict=True)))
        if self._copy_types is None:
            self._copy_types = copy_types(cur) or ()
        types = self._copy_types or None
        if self._rollup_cache is None:
            self._rollup_cache = XminCache()
        self._upkeep.wrote(batch[_TS])
        return write_receipts(
            cur, batch, self._lock_for_rollups, self._partitions.ensure, types, self._rollup_cache
        )

    def _is_partitioned(self, cur: Any) -> bool:
        if self._partitioned is None:
            self._partitioned = is_partitioned(cur)
        return self._partitioned

    def _is_compact(self) -> bool:
        if self._compact is None:
            with self._reader().cursor() as cur:
                self._compact = is_compact(cur)
        return self._compact

    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        done = super().migrate(migrations)
        self._partitioned = self._compact = None
        self._copy_types = None
        return done

    def _id_columns(self, table: Table[Any]) -> tuple[str, ...]:
        return ID_COLUMNS if table is RECEIPTS and self._is_compact() else ()

    def _encode_id(self, value: Any) -> Any:
        return encode_id_bytes(value)

    def _where(self, table: Table[Any], where: Sequence[Condition]) -> tuple[str, list[Any]]:
        # Conditions on trace_id become the two probes the indexes serve
        # (store/_pg_compact.py: the partial trace index leaves out first receipts).
        stored = self._stored_where(table, where)
        traces = [c for c in stored if c[0] == "trace_id" and c[1] in ("=", "in")]
        if not traces or not self._id_columns(table):
            return render_where(stored)
        clause, params = render_where([c for c in stored if c not in traces])
        parts = [clause.removeprefix(" WHERE ")] if clause else []
        for _, op, value in traces:
            values = list(value) if op == "in" else [value]
            if not values:
                parts.append("1 = 0")
                continue
            marks = "?" if op == "=" else f"({', '.join('?' for _ in values)})"
            parts.append(trace_condition(op.upper(), marks))
            params.extend(values * 3)
        return " WHERE " + " AND ".join(parts), params

    def create_partitions(self, since: float, until: float) -> int:
        """Create the monthly ``receipts`` partitions covering [since, until) ahead of
        time (the writer otherwise creates them as receipts arrive); returns how many
        months that covers."""

        def work(cur: Any) -> int:
            self._lock_for_rollups(cur)
            return create_partitions(cur, since, until)

        result: int = self._run_write(work)
        return result

    def prune(self, table: Table[Any], *, column: str, before: float) -> int:
        # Retention of receipts drops the month partitions the cutoff covers whole and
        # deletes the rest; writers are kept out meanwhile (they create partitions).
        if table is not RECEIPTS or column != "timestamp":
            return super().prune(table, column=column, before=before)
        check_cutoff(before)

        def work(cur: Any) -> int:
            self._lock_for_rollups(cur)
            if not is_partitioned(cur):
                cur.execute("DELETE FROM receipts WHERE timestamp < %s", [before])
                return max(int(cur.rowcount), 0)
            return drop_before(cur, before)

        result: int = self._run_write(work)
        self._partitions.forget()
        return result

    def _stored_ids(self, cur: Any, ids: list[str]) -> set[str]:
        cur.execute(UNPARTITIONED_STORED_IDS, [ids])  # the generic path's look-up
        return {str(r[0]) for r in cur.fetchall()}

    def _lock_for_migrations(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK_KEY])

    def _lock_for_aggregates(self, cur: Any, table: Table[Any]) -> None:
        # An aggregate folds the rows above the table's sequence read before the insert:
        # writers of that table one at a time, or another's commit would be folded twice.
        key = _AGGREGATE_LOCK_BASE + zlib.crc32(table.name.encode())
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def _lock_for_rollups(self, cur: Any) -> None:
        # Writers of receipts read, merge and write rollup rows: one at a time per
        # database (several hosts included), so every merge sees the previous commit.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        return (self._psycopg.Error,)

    def _is_retryable(self, exc: Exception) -> bool:
        errors = self._psycopg.errors
        if isinstance(exc, errors.CheckViolation) and "no partition" in str(exc):
            # Another process dropped a month this store still knew: look again.
            self._partitions.forget()
            return True
        return isinstance(
            exc, errors.SerializationFailure | errors.DeadlockDetected | errors.LockNotAvailable
        )

    def _translate_error(self, exc: Exception) -> Exception:
        if isinstance(exc, self._psycopg.OperationalError):
            return StoreUnavailableError(f"PostgreSQL store {self.url}: {exc}")
        return StoreError(f"PostgreSQL store {self.url}: {exc}")

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        # A server-side cursor on its own connection streams with bounded memory and lets
        # several scans interleave in one thread.
        conn = self._connect()
        try:
            with conn.transaction(), conn.cursor(name="outcomes_scan") as cur:
                cur.itersize = SCAN_BATCH
                cur.execute(self._sql(sql), list(params))
                yield from fetch_batches(cur)
        finally:
            conn.close()

    def query(self, query: Query, params: Sequence[Any] = ()) -> list[Row]:
        # The whole answer at once needs no stream: the thread's reader connection
        # answers it, where a stream opens a connection of its own (a server process
        # forked for it, 3-9 ms more per call at load 5 where the query took about 1 ms;
        # store/_newest.py's windows ask two to six of them).
        sql, values = query.render(self.dialect, params)
        rows = self.fetch(sql, values)
        if query.ids and self._id_columns(RECEIPTS):
            ids = query.ids
            return [decode_row(row, ids) for row in rows]
        return rows

    def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._reader().cursor() as cur:
            cur.execute(self._sql(sql), list(params))
            return list(cur.fetchall()) if cur.description is not None else []

    def _table_exists(self, name: str) -> bool:
        rows = self.fetch("SELECT to_regclass(?) IS NOT NULL", [name])
        return bool(rows and rows[0][0])

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests only)."""
        if self._schema is None:
            raise StoreError("drop_schema needs a store opened with schema=...")
        self._writer().execute(f"DROP SCHEMA IF EXISTS {self._schema} CASCADE")


if tuple(m.name for m in PostgresStore.ENGINE_MIGRATIONS) != PG_MIGRATION_NAMES:  # pragma: no cover
    # The light read path (``_pg_read``) trusts a database whose migrations are exactly
    # these names: a new one must be named there too.
    raise ImportError("store._pg_read.PG_MIGRATION_NAMES must name every PostgreSQL migration")
