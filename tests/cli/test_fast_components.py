"""``components report --json`` answered by ``cli._fast``: byte for byte the command's
output on SQLite and PostgreSQL, or declined when it cannot be sure."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import psycopg
import pytest

from outcomes.cli import _fast
from outcomes.components import MIGRATIONS
from outcomes.components._queries import OUTCOME_TOTAL_ROWS
from outcomes.components._records import ComponentEvent, OutcomeType
from outcomes.store import PostgresStore, SQLiteStore, Store
from outcomes.testing import cli
from tests.cli.test_fast_models import _random_store, fast_output, outcomes_home, same_as_command
from tests.cli.test_fast_pg import _url

# Hostile ids too: quotes, a JSON escape, non-ASCII, a lone surrogate-free emoji, RTL.
IDS = ("plugin-a", "b", 'quote"d', "back\\slash", "ünïcödé", "🧩-kit", "\u202eevil", "x" * 256)


def random_events(seed: int) -> list[ComponentEvent]:
    """Events of random components, outcomes and times (ties in first time included)."""
    rng = random.Random(seed)
    outcomes = [o.value for o in OutcomeType]
    return [
        ComponentEvent(
            f"e{seed}-{i}", rng.choice(IDS), rng.choice(outcomes),
            1_750_000_000.0 + rng.choice([0.0, rng.uniform(0, 9e5)]),
            rng.choice([None, f"s{rng.randint(0, 20)}"]),
        )
        for i in range(rng.randint(0, 300))
    ]  # fmt: skip


def _fill(store: Store, seed: int) -> None:
    events = random_events(seed)
    # Two writes: the totals are merged across batches, as in a long-lived store.
    store.write(events[: len(events) // 2])
    store.write(events[len(events) // 2 :])


def _component_store(path: Path, seed: int) -> None:
    store = SQLiteStore(path)
    try:
        store.migrate(MIGRATIONS)
        _fill(store, seed)
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(12))
def test_fast_components_report_is_the_commands_output_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    path = tmp_path / "o.db"
    _component_store(path, seed)
    same_as_command(["components", "report", "--json", "--db", f"sqlite:///{path}"], capsys)


def test_fast_components_report_reads_the_default_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _component_store(outcomes_home(tmp_path, monkeypatch) / "outcomes.db", 5)
    assert same_as_command(["components", "report", "--json"], capsys).startswith("[\n  {")


@pytest.mark.parametrize(
    "extra",
    [
        ["--flagged"],
        ["--min-removals", "3"],
        ["--json"],
        ["--db"],
        ["--help"],
        ["--", "x"],
        ["--db=memory://"],
    ],
)
def test_fast_components_report_declines_other_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    path = tmp_path / "o.db"
    _component_store(path, 1)
    argv = ["components", "report", "--json", *extra]
    assert fast_output(argv, capsys) is None
    assert fast_output(["components", "conflicts", "--json"], capsys) is None
    assert fast_output(["components", "report"], capsys) is None


@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM outcomes_migrations WHERE name = 'components.0002_outcome_totals'",
        "INSERT INTO outcomes_migrations VALUES ('components.9999_from_a_newer_version', 0)",
        "DELETE FROM outcomes_migrations WHERE name = 'core.0003_receipts_ttft'",
    ],
)
def test_fast_components_report_declines_a_schema_that_is_not_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    path = tmp_path / "o.db"
    _component_store(path, 2)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(change)
    conn.close()
    assert (
        fast_output(["components", "report", "--json", "--db", f"sqlite:///{path}"], capsys) is None
    )


def test_fast_components_report_declines_a_store_without_the_components_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command creates the tables (and answers []); the fast path must not answer
    # for it, nor create anything.
    path = tmp_path / "o.db"
    _random_store(path, 3)
    argv = ["components", "report", "--json", "--db", f"sqlite:///{path}"]
    assert fast_output(argv, capsys) is None
    conn = sqlite3.connect(path)
    tables = conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'component%'").fetchall()
    conn.close()
    assert tables == []
    assert cli.invoke(argv).stdout == "[]\n"


def test_the_fast_statement_and_migrations_are_the_components_wings() -> None:
    assert OUTCOME_TOTAL_ROWS.sql == _fast.COMPONENT_TOTALS_SELECT
    assert OUTCOME_TOTAL_ROWS.dialects == {}
    assert tuple(m.name for m in MIGRATIONS) == _fast.COMPONENT_MIGRATION_NAMES


@pytest.mark.postgres
@pytest.mark.parametrize("seed", range(4))
def test_fast_components_report_on_postgresql_is_the_commands_output_byte_for_byte(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    pg.migrate(MIGRATIONS)
    _fill(pg, 300 + seed)
    same_as_command(["components", "report", "--json", "--db", _url(pg)], capsys)


@pytest.mark.postgres
def test_fast_components_report_on_postgresql_declines_without_the_components_tables(
    pg: PostgresStore, capsys: pytest.CaptureFixture[str]
) -> None:
    pg.migrate(MIGRATIONS)
    with psycopg.connect(_url(pg), autocommit=True) as conn:
        conn.execute("DELETE FROM outcomes_migrations WHERE name LIKE 'components.%'")
    assert fast_output(["components", "report", "--json", "--db", _url(pg)], capsys) is None
