"""``outcomes ledger prune``: emptying the ledger takes an explicit --all."""

from __future__ import annotations

import json
from pathlib import Path

from outcomes.records import Receipt
from outcomes.store import SQLiteStore
from outcomes.testing import cli


def _store(tmp_path: Path, n: int = 5) -> tuple[str, Path]:
    path = tmp_path / "o.db"
    store = SQLiteStore(path)
    store.write([Receipt(f"r{i}", f"t{i}", "m", "code", 1_700_000_000.0 + i) for i in range(n)])
    store.close()
    return f"sqlite:///{path}", path


def _count(path: Path) -> int:
    store = SQLiteStore(path)
    try:
        return store.count(Receipt.__table__)
    finally:
        store.close()


def test_keep_zero_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    url, path = _store(tmp_path)
    result = cli.invoke(["ledger", "prune", "--keep", "0", "--db", url])
    assert result.exit_code == 2
    assert "--keep" in result.output
    assert _count(path) == 5


def test_all_empties_the_ledger(tmp_path: Path) -> None:
    url, path = _store(tmp_path)
    result = cli.invoke(["ledger", "prune", "--all", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"deleted": 5, "feedback_deleted": 0}
    assert _count(path) == 0


def test_all_with_another_rule_is_refused(tmp_path: Path) -> None:
    url, path = _store(tmp_path)
    for extra in (["--keep", "2"], ["--older-than", "1d"]):
        result = cli.invoke(["ledger", "prune", "--all", *extra, "--db", url])
        assert result.exit_code == 2
        assert "--all" in result.output
    assert _count(path) == 5


def test_keep_n_keeps_the_newest(tmp_path: Path) -> None:
    url, path = _store(tmp_path)
    result = cli.invoke(["ledger", "prune", "--keep", "2", "--db", url, "--json"])
    assert json.loads(result.output) == {"deleted": 3, "feedback_deleted": 0}
    assert _count(path) == 2
