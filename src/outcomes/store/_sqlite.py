"""The embedded SQLite store: WAL mode, one writer connection per process, owner-only files."""

from __future__ import annotations

import contextlib
import math
import operator
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import compress
from pathlib import Path
from typing import Any, ClassVar, cast

from outcomes import config
from outcomes._files import FILE_MODE, check_path, ensure_home
from outcomes._table import Table
from outcomes.errors import (
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
    UnsafePathError,
)
from outcomes.store._base import Migration, StoreKind, check_finite_columns
from outcomes.store._ids import ID_COLUMNS, encode_id, encode_ids
from outcomes.store._rollups import Delta, RollupCache, apply_sql
from outcomes.store._sql import RECEIPTS, SqlStore

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
if RECEIPTS.column_names[:2] != ID_COLUMNS:  # pragma: no cover - guards _STORED
    raise ImportError("receipts must start with receipt_id, trace_id (store/_ids.py)")
_RECEIPT_ID = operator.attrgetter("receipt_id")
_STORED = {0: partial(encode_ids, blob=bytearray), 1: partial(encode_ids, blob=bytearray)}
"""The receipt columns stored compactly (store/_ids.py), as the insert binds them."""
_BOOL_IDX = tuple(i for i, c in enumerate(RECEIPTS.columns) if c.type == "bool")
_AS_INT = {False: 0, True: 1}


def _compact_ids(cur: Any, sql: Callable[[str], str]) -> None:
    """Store the UUID-shaped ids of existing receipts as 16 bytes (store/_ids.py), as new
    writes do; other ids stay text. One statement, in the migration's transaction."""
    cur.connection.create_function("outcomes_compact_id", 1, encode_id, deterministic=True)
    cur.execute(
        "UPDATE receipts SET receipt_id = outcomes_compact_id(receipt_id), "
        "trace_id = outcomes_compact_id(trace_id) "
        "WHERE typeof(receipt_id) = 'text' OR typeof(trace_id) = 'text'"
    )


SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "sqlite.0001_compact_receipts",
        # Readers of (model, task) read the rollups since core.0002: this index served no
        # query any more (EXPLAIN QUERY PLAN of every receipts query, docs/scaling.md).
        ("DROP INDEX IF EXISTS receipts_model_task",),
        run=_compact_ids,
    ),
)
"""Migrations only the SQLite store applies, after the core ones."""

_CORRUPT_MARKERS = ("file is not a database", "malformed", "not a database", "corrupt")


class SQLiteStore(SqlStore):
    """A :class:`~outcomes.store.Store` in one SQLite file, safe to share between processes.

    A new database is created ``0600`` (SQLite gives its ``-wal`` and ``-shm`` files the
    same mode), in a folder created ``0700`` if missing; an existing file's mode is never
    changed. With ``managed_root`` (the folder ``outcomes`` manages, set when the path
    was not named by the user) a path that is a symlink or resolves outside it is
    refused. A dangling symlink is always refused. An existing file that is not a healthy
    database raises :class:`~outcomes.errors.StoreCorruptError` and is left untouched.
    ``durable=True`` makes every commit survive power loss (``synchronous=FULL``); the
    default survives a crash of the process.
    """

    dialect: ClassVar[StoreKind] = "sqlite"
    ENGINE_MIGRATIONS: ClassVar[tuple[Migration, ...]] = SQLITE_MIGRATIONS
    INSERT_SQL = "INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})"
    TYPES: ClassVar[dict[str, str]] = {
        "pk": "INTEGER PRIMARY KEY",
        "int": "INTEGER",
        "real": "REAL",
        "bool": "INTEGER",
        "json": "TEXT",
    }

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float | None = None,
        durable: bool = False,
        auto_migrate: bool = True,
        create: bool = True,
        managed_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._busy_timeout = config.busy_timeout(busy_timeout)
        self._durable = durable
        try:
            check_path(self.path, root=managed_root, explicit=managed_root is None)
        except UnsafePathError as exc:
            raise StoreUnavailableError(f"refusing to open the store: {exc}") from None
        if not self.path.exists():
            if not create:
                raise StoreUnavailableError(f"no database at {self.path}")
            self._create_file()
        self._rollup_cache: RollupCache | None = None
        self._cache_conn: Any = None
        self._txn_models: set[str] | None = None
        self._nullable: frozenset[int] | None = None
        self._named_inserts: dict[tuple[int, ...], str] = {}
        super().__init__(auto_migrate=False)
        # Fail early, and clearly, on a file that is not a database.
        self._writer()
        if auto_migrate:
            self.migrate()

    def _create_file(self) -> None:
        parent = self.path.parent
        try:
            # The store's own folder is part of the store: created 0700 when missing.
            ensure_home(parent)
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW, FILE_MODE)
        except (UnsafePathError, OSError) as exc:
            raise StoreUnavailableError(f"cannot create the store: {exc}") from None
        os.close(fd)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def durable(self) -> bool:
        return self._durable

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"{self.path}: could not enable WAL (got {mode!r})")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self._durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys = ON")
            _ensure_math(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._translate_error(exc) from exc
        return conn

    @contextlib.contextmanager
    def _write_transaction(
        self, conn: sqlite3.Connection, own: bool = False
    ) -> Iterator[sqlite3.Cursor]:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        # The rollup cache survives only a transaction that wrote records through
        # _apply_rollups (which sets _txn_models); any other statement may have touched
        # the rollups.
        self._txn_models = None
        try:
            yield cur
        except BaseException:
            self._rollup_cache = None
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                cur.execute("COMMIT")
            except BaseException:
                self._rollup_cache = None  # it holds what this transaction merged
                raise
            cache = self._rollup_cache
            models = cast("set[str] | None", self._txn_models)  # set while yielded
            if cache is not None and models is not None:
                cache.commit(models)
            else:
                self._rollup_cache = None
        finally:
            cur.close()

    def _apply_rollups(self, cur: Any, delta: Delta) -> None:
        # PRAGMA data_version changes when another connection (another process, another
        # store object) has committed since this connection last looked: then what this
        # writer remembers of the rollups may be stale and is dropped. The connection is
        # part of the check because a version number means nothing on another one.
        version = int(cur.execute("PRAGMA data_version").fetchone()[0])
        cache = self._rollup_cache
        if cache is None or cache.version != version or self._cache_conn is not cur.connection:
            cache = self._rollup_cache = RollupCache(version)
            self._cache_conn = cur.connection
        apply_sql(cur, self._sql, delta, cache=cache)
        self._txn_models = (self._txn_models or set()) | delta.models

    def _id_columns(self, table: Table[Any]) -> tuple[str, ...]:
        return ID_COLUMNS if table is RECEIPTS else ()

    def _prepare(self, table: Table[Any], records: list[Any]) -> Any:
        if table is not RECEIPTS:
            return super()._prepare(table, records)
        # Receipts go by columns (one pass over a column in C instead of a Python step
        # per receipt for the scrub, the finite check, the ids and the rollup fold),
        # first receipt of each id only, ids encoded before the scrub (an encoded id
        # is not text and is not searched for secrets), booleans as int.
        ids = list(map(_RECEIPT_ID, records))
        if len(set(ids)) != len(ids):
            seen: dict[str, Any] = {}
            for rid, record in zip(ids, records, strict=True):
                seen.setdefault(rid, record)
            records = list(seen.values())
        cols = RECEIPTS.to_columns(records, _STORED)
        check_finite_columns(RECEIPTS, cols)
        for i in _BOOL_IDX:
            cols[i] = list(map(_AS_INT.get, cols[i], cols[i]))
        return cols

    def _insert_receipts(self, cur: Any, rows: Any) -> tuple[int, Delta]:
        # Insert first, ask questions only when needed: a batch is almost always new
        # receipts, and then the insert's change count equals the batch's size and
        # proves it (no look-up of stored ids). Otherwise the rows the insert added are
        # those with a seq above the one before it (``BEGIN IMMEDIATE`` holds every
        # other writer out meanwhile).
        cols: list[Sequence[Any]] = rows
        n = len(cols[0])
        cur.execute("SELECT max(seq) FROM receipts")
        before = cur.fetchone()[0] or 0
        # The sqlite3 module binds text, numbers and bytearray directly and looks any
        # other value (None, bool, bytes) up in its adapter registry, about 0.3 us a
        # value here: a column the whole batch leaves NULL is not named at all.
        nullable = self._nullable_columns(cur)
        named = tuple(
            i
            for i, c in enumerate(cols)
            if i not in nullable or c[0] is not None or c.count(None) != n
        )
        sql = self._named_inserts.get(named)
        if sql is None:
            names = ", ".join(RECEIPTS.columns[i].name for i in named)
            marks = ", ".join("?" for _ in named)
            sql = self._named_inserts[named] = (
                f"INSERT OR IGNORE INTO receipts ({names}) VALUES ({marks})"
            )
        cur.executemany(sql, zip(*(cols[i] for i in named), strict=True))
        added = max(int(cur.rowcount), 0)
        if added == n:
            return added, Delta.of_columns(cols)
        cur.execute("SELECT receipt_id FROM receipts WHERE seq > ?", [before])
        new = {r[0] for r in cur.fetchall()}
        keep = [(bytes(v) if type(v) is bytearray else v) in new for v in cols[0]]
        return added, Delta.of_columns([list(compress(c, keep)) for c in cols])

    def _nullable_columns(self, cur: Any) -> frozenset[int]:
        """Positions of the receipt columns that are NULL when an insert leaves them out
        (nullable, no default), from the database's own schema."""
        if self._nullable is None:
            cur.execute("PRAGMA table_info(receipts)")
            null = {name for _, name, _, notnull, default, pk in cur.fetchall()
                    if not notnull and default is None and not pk}  # fmt: skip
            self._nullable = frozenset(i for i, c in enumerate(RECEIPTS.columns) if c.name in null)
        return self._nullable

    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        done = super().migrate(migrations)
        if done:
            self._nullable = None  # a migration may have changed the receipts' columns
        return done

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error,)

    def _is_retryable(self, exc: Exception) -> bool:
        msg = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)

    def _translate_error(self, exc: Exception) -> Exception:
        msg = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and any(
            m in msg.lower() for m in _CORRUPT_MARKERS
        ):
            return StoreCorruptError(
                f"{self.path} is not a healthy SQLite database ({msg}); it was left untouched. "
                "Run `outcomes doctor` for details, move the file aside to start afresh."
            )
        return StoreError(f"SQLite store {self.path}: {msg}")

    def _table_exists(self, name: str) -> bool:
        rows = self.fetch("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return bool(rows)

    def verify(self) -> list[str]:
        """Run SQLite's ``integrity_check``; returns its complaints (empty when healthy)."""
        try:
            rows = self.fetch("PRAGMA integrity_check")
        except StoreError as exc:
            return [str(exc)]
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems


def _ensure_math(conn: sqlite3.Connection) -> None:
    """Register ``exp`` and ``ln`` when this SQLite was built without its math functions
    (named queries merge log-domain sums with them; PostgreSQL has them built in)."""
    try:
        conn.execute("SELECT exp(0), ln(1)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("exp", 1, _null_safe(math.exp), deterministic=True)
        conn.create_function("ln", 1, _null_safe(math.log), deterministic=True)


def _null_safe(fn: Callable[[float], float]) -> Callable[[float | None], float | None]:
    return lambda x: None if x is None else fn(x)
