"""Fixtures shared by the whole suite.

``store`` is parametrised over every implementation (memory, SQLite, PostgreSQL); a test
that takes it is a conformance test and runs three times. PostgreSQL runs need
``OUTCOMES_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
each test gets its own schema, dropped afterwards, so parallel runs never collide. When
the server is unreachable the PostgreSQL cases skip, unless ``OUTCOMES_REQUIRE_POSTGRES=1``
(set by ``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcomes.store import MemoryStore, PostgresStore, SQLiteStore, Store

POSTGRES_URL = os.environ.get(
    "OUTCOMES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATASETS = SHARED / "datasets"

_pg_reachable: bool | None = None


def postgres_available() -> bool:
    global _pg_reachable
    if _pg_reachable is None:
        try:
            import psycopg

            with psycopg.connect(POSTGRES_URL, connect_timeout=3):
                _pg_reachable = True
        except Exception:
            _pg_reachable = False
    return _pg_reachable


def require_postgres() -> None:
    if postgres_available():
        return
    if os.environ.get("OUTCOMES_REQUIRE_POSTGRES") == "1":
        pytest.fail(
            f"PostgreSQL is required (OUTCOMES_REQUIRE_POSTGRES=1) but {POSTGRES_URL} is down"
        )
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")


def require_datasets() -> Path:
    """Return ``../shared/datasets``; skip (or fail in CI) when it is absent."""
    if DATASETS.is_dir():
        return DATASETS
    if os.environ.get("OUTCOMES_REQUIRE_SHARED") == "1":
        pytest.fail(f"{DATASETS} is required in CI but missing")
    pytest.skip(f"{DATASETS} not present (a fresh clone has no ../shared)")


def postgres_schema() -> str:
    """A schema name no other test uses (for a store a test opens itself)."""
    require_postgres()
    return f"t_{uuid.uuid4().hex[:16]}"


def make_postgres_store(**kwargs: object) -> PostgresStore:
    return PostgresStore(POSTGRES_URL, schema=postgres_schema(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store of every kind (conformance fixture)."""
    kind = request.param
    if kind == "memory":
        s: Store = MemoryStore()
    elif kind == "sqlite":
        s = SQLiteStore(tmp_path / "outcomes.db")
    else:
        s = make_postgres_store()
    try:
        yield s
    finally:
        if isinstance(s, PostgresStore):
            s.drop_schema()
        s.close()


@pytest.fixture
def pg() -> Iterator[PostgresStore]:
    """A fresh, migrated PostgreSQL store in its own schema, dropped afterwards."""
    store = make_postgres_store()
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "outcomes.db")
    yield s
    s.close()


@pytest.fixture
def outcomes_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point OUTCOMES_HOME at a temporary folder and clear OUTCOMES_DB_URL."""
    home = tmp_path / "home"
    monkeypatch.setenv("OUTCOMES_HOME", str(home))
    monkeypatch.delenv("OUTCOMES_DB_URL", raising=False)
    return home
