"""``models --json`` on a store whose rollup rows hold what they should not (a malformed
sketch text, a float in a count, a word in a number): the fast answer and the command
give the same clear error naming the row, exit code 3, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from outcomes.cli import _common, _fast
from outcomes.records import Receipt
from outcomes.store import PostgresStore, SQLiteStore
from outcomes.testing import cli
from tests.cli.test_fast_pg import _url

RECEIPTS = [
    Receipt(
        receipt_id=f"r{i}", trace_id=f"t{i}", model_id=model, task="code",
        timestamp=1_750_000_000.0 + i, success=i % 3 != 0, latency_ms=10.0 + i,
        input_tokens=10, output_tokens=5, project_id="web" if i % 2 else None,
    )
    for i, model in enumerate(["gpt-4o", "llama"] * 5)
]  # fmt: skip
SQLITE_DAMAGE = [
    "UPDATE rollup_cells SET latency_sketch = 'garbage' WHERE model_id = 'llama'",
    "UPDATE rollup_cells SET latency_sketch = '1:2,' WHERE model_id = 'llama'",
    "UPDATE rollup_cells SET calls = 'abc' WHERE model_id = 'llama'",
    "UPDATE rollup_cells SET successes = 1e308 WHERE model_id = 'llama'",  # kept as a REAL
    "UPDATE rollup_cells SET dw_pos = 'x' WHERE model_id = 'llama'",
    "INSERT OR REPLACE INTO rollup_ema (model_id, task, value) VALUES ('llama', '', 'zz')",
]
PG_DAMAGE = [
    "UPDATE rollup_cells SET latency_sketch = 'garbage' WHERE model_id = 'llama'",
    "UPDATE rollup_cells SET latency_sketch = '-290:1,' WHERE model_id = 'llama'",
]
HUGE_SKETCH = (  # past NumPy's threshold, one count past 64 bits: read exactly or not at all
    "UPDATE rollup_cells SET latency_sketch = '"
    + ",".join(f"{i}:1" for i in range(100, 900))
    + ",150:99999999999999999999' WHERE model_id = 'llama'"
)


def _same_clear_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        _fast.run(argv)
    fast = capsys.readouterr()
    full = cli.invoke(argv)
    assert exit_info.value.code == full.exit_code == _common.EXIT_STORE
    assert fast.out == full.stdout == ""
    assert fast.err.startswith("error: malformed rollup_")
    assert "('llama', " in fast.err  # names the row
    assert fast.err.split() == full.stderr.split()
    assert "Traceback" not in full.output
    return fast.err


@pytest.mark.parametrize("damage", SQLITE_DAMAGE)
def test_a_damaged_sqlite_rollup_row_is_named_by_both_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    path = tmp_path / "o.db"
    store = SQLiteStore(path)
    store.write(RECEIPTS)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(damage)
    conn.close()
    _same_clear_error(["models", "--json", "--db", f"sqlite:///{path}"], capsys)


@pytest.mark.postgres
@pytest.mark.parametrize("damage", PG_DAMAGE)
def test_a_damaged_postgresql_rollup_row_is_named_by_both_paths(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    pg.write(RECEIPTS)
    pg.execute(damage)
    _same_clear_error(["models", "--json", "--db", _url(pg)], capsys)


@pytest.mark.postgres
def test_a_sketch_count_past_64_bits_is_read_alike_by_both_paths(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str]
) -> None:
    pg.write(RECEIPTS)
    pg.execute(HUGE_SKETCH)
    argv = ["models", "--json", "--db", _url(pg)]
    capsys.readouterr()
    assert _fast.run(argv)
    fast = capsys.readouterr().out
    full = cli.invoke(argv)
    assert full.exit_code == 0, full.output
    assert fast == full.stdout
