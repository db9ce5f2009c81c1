"""Fixtures for the client integrations: a tracker over a SQLite file, the fake server."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from outcomes.inference import OutcomeTracker
from outcomes.records import Receipt
from outcomes.store import SQLiteStore
from outcomes.testing import receipts
from tests.fakes.llm_server import FakeLLMServer, Reply

C = TypeVar("C")

PROMPT = "SECRET-PROMPT-7f3a what is the capital of France"
ANSWER = "SECRET-ANSWER-91c2 the capital of France is Paris"


_opened: list[Any] = []


def closing(client: C) -> C:
    """Close ``client`` (sync or async SDK client) when the test ends."""
    _opened.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _opened:
        client: Any = _opened.pop()
        result = client.close()
        if inspect.isawaitable(result):
            asyncio.run(result)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "outcomes.db"


@pytest.fixture
def tracker(db_path: Path) -> Iterator[OutcomeTracker]:
    t = OutcomeTracker(SQLiteStore(db_path))
    yield t
    t.close()
    assert t.store is not None
    t.store.close()


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer([Reply(content=ANSWER)]) as running:
        yield running


def stored(tracker: OutcomeTracker) -> list[Receipt]:
    """Every receipt the tracker committed, after a flush."""
    assert tracker.flush()
    assert tracker.store is not None
    return receipts(tracker.store)


def db_bytes(db_path: Path) -> bytes:
    """The database's bytes on disk: the file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
