"""SQLite specifics: files, permissions, damaged databases, several processes, crashes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from outcomes.errors import StoreCorruptError, StoreUnavailableError
from outcomes.records import Receipt
from outcomes.store import SQLiteStore, open_store


def test_creates_owner_only_folder_and_files(tmp_path: Path) -> None:
    db = tmp_path / "home" / "outcomes.db"
    store = SQLiteStore(db)
    store.write([Receipt("r1", "t", "m", "code", 1.0)])
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    store.close()


def test_uses_wal_and_a_busy_timeout(sqlite_store: SQLiteStore) -> None:
    assert sqlite_store.fetch("PRAGMA journal_mode")[0][0] == "wal"
    assert sqlite_store.fetch("PRAGMA busy_timeout")[0][0] >= 1000


def test_garbage_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "outcomes.db"
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    with pytest.raises(StoreCorruptError, match="not a healthy SQLite database"):
        open_store(f"sqlite:///{db}")
    assert db.read_bytes() == garbage


def test_truncated_database_is_reported_not_overwritten(tmp_path: Path) -> None:
    db = tmp_path / "outcomes.db"
    store = SQLiteStore(db)
    store.write(
        [Receipt(f"r{i}", "t", "m", "code", float(i), error="e" * 200) for i in range(3000)]
    )
    store.close()
    # Checkpoint everything into the main file, then cut it in half.
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    before = db.read_bytes()
    try:
        store = SQLiteStore(db)
    except StoreCorruptError:
        pass  # reported at open
    else:
        assert store.verify(), "a truncated file must fail the integrity check"
        store.close()
    assert db.read_bytes() == before


def test_missing_file_with_create_false_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="no database"):
        SQLiteStore(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_unknown_url_scheme_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="unknown store URL"):
        open_store("mysql://x")


_APPENDER = textwrap.dedent(
    """
    import sys
    from outcomes.store import SQLiteStore, BackgroundWriter
    from outcomes.config import WriterSettings
    from outcomes.records import Receipt
    db, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SQLiteStore(db)
    w = BackgroundWriter(store, WriterSettings(batch_size=50, flush_interval=0.01))
    for i in range(n):
        w.submit(Receipt(f"{worker}-{i}", "t", "m", "code", float(i)))
        if i % 200 == 0:
            w.flush()
    assert w.close(timeout=60), "flush timed out"
    st = w.stats()
    assert st.written == n and st.failed == 0 and st.dropped == 0, st
    print("ok")
    """
)


@pytest.mark.slow
def test_four_processes_append_to_one_file_without_loss_or_lock_errors(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    SQLiteStore(db).close()
    n = 3_000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(db), f"w{k}", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
        assert out.strip() == "ok"
    store = SQLiteStore(db)
    ids = [r.receipt_id for r in store.scan(Receipt.__table__)]
    store.close()
    assert len(ids) == 4 * n
    assert set(ids) == {f"w{k}-{i}" for k in range(4) for i in range(n)}


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from outcomes.store import SQLiteStore, BackgroundWriter
    from outcomes.config import WriterSettings
    from outcomes.records import Receipt
    db = sys.argv[1]
    store = SQLiteStore(db, durable=True)
    w = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=0.005, durable=True))
    i = 0
    while True:
        for _ in range(100):
            w.submit(Receipt(f"r{i}", "t", "m", "code", float(i), error="x" * 100))
            i += 1
        if w.flush(timeout=30):
            print(i, flush=True)  # every receipt below i is acknowledged as committed
    """
)


@pytest.mark.slow
def test_sigkill_mid_stream_keeps_every_acknowledged_receipt(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged = 0
    deadline = time.monotonic() + 60
    while acknowledged < 5_000 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    time.sleep(0.05)  # let it get into the middle of the next batches
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert acknowledged >= 5_000, err
    store = SQLiteStore(db)
    assert store.verify() == []
    ids = {r.receipt_id for r in store.scan(Receipt.__table__)}
    store.close()
    missing = [i for i in range(acknowledged) if f"r{i}" not in ids]
    assert missing == []


def test_exp_and_ln_are_registered_when_sqlite_lacks_its_math_functions() -> None:
    # Named queries merge log-domain sums with exp/ln; a SQLite built without
    # SQLITE_ENABLE_MATH_FUNCTIONS gets Python's, NULL in NULL out.
    import math
    import sqlite3
    from typing import Any

    from outcomes.store._sqlite import _ensure_math

    class WithoutMath:
        def __init__(self) -> None:
            self.functions: dict[str, Any] = {}

        def execute(self, sql: str) -> Any:
            raise sqlite3.OperationalError("no such function: exp")

        def create_function(self, name: str, n: int, fn: Any, *, deterministic: bool) -> None:
            assert n == 1
            assert deterministic
            self.functions[name] = fn

    conn = WithoutMath()
    _ensure_math(conn)  # type: ignore[arg-type]
    assert conn.functions["exp"](1.0) == math.e
    assert conn.functions["ln"](math.e) == 1.0
    assert conn.functions["exp"](None) is None
    real = sqlite3.connect(":memory:")
    _ensure_math(real)  # built in here: left alone, and the query answers
    assert real.execute("SELECT ln(exp(2.0))").fetchone()[0] == pytest.approx(2.0)
