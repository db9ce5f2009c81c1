"""The embedded SQLite store: WAL mode, one writer connection per process, owner-only files."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

from outcomes import config
from outcomes._files import FILE_MODE, check_path, ensure_home
from outcomes.errors import (
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
    UnsafePathError,
)
from outcomes.store._base import StoreKind
from outcomes.store._sql import SqlStore

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
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
    def _write_transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

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
