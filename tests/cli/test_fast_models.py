"""``models --json`` and ``ledger stats --json`` answered by ``cli._fast``: byte for byte
the command's output."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from outcomes.cli import _fast
from outcomes.records import Receipt
from outcomes.store import SQLiteStore
from outcomes.testing import cli

MODELS = ("gpt-4o", "gpt-4o-mini", "claude", "llama")
TASKS = ("generate", "code", "classify")


def random_batches(seed: int) -> tuple[list[Receipt], list[Receipt]]:
    """Two batches of receipts of random outcomes, with late signals superseding some."""
    rng = random.Random(seed)
    receipts: list[Receipt] = []
    for i in range(rng.randint(0, 400)):
        receipts.append(
            Receipt(
                receipt_id=f"r{i}", trace_id=f"t{i}", model_id=rng.choice(MODELS),
                task=rng.choice(TASKS), timestamp=1_750_000_000.0 + i * rng.uniform(1, 900),
                success=rng.choice([True, False, None]),
                quality=rng.choice([None, rng.random()]),
                latency_ms=rng.choice([0.0, rng.uniform(1, 5000)]),
                input_tokens=rng.randint(0, 900), output_tokens=rng.randint(0, 900),
                cost_usd=rng.choice([None, rng.uniform(0, 0.02)]),
                project_id=rng.choice([None, "web", "batch"]),
                # A few receipts of other kinds: rollups leave them out, ledger stats not.
                kind="component" if rng.random() < 0.05 else "inference",
            )
        )  # fmt: skip
    late = [
        Receipt(
            receipt_id=f"s{r.receipt_id}", trace_id=r.trace_id, model_id=r.model_id,
            task=r.task, timestamp=r.timestamp + 60, success=rng.choice([True, False]),
            quality=rng.random(), project_id=r.project_id, source="signal",
            supersedes=r.receipt_id, superseded_success=r.success,
            superseded_quality=r.quality, superseded_at=r.timestamp,
        )
        for r in receipts
        if rng.random() < 0.1
    ]  # fmt: skip
    return receipts[: len(receipts) // 2], receipts[len(receipts) // 2 :] + late


def _random_store(path: Path, seed: int) -> None:
    store = SQLiteStore(path)
    try:
        # Two writes: rollup cells are merged across batches, as in a long-lived store.
        for batch in random_batches(seed):
            store.write(batch)
    finally:
        store.close()


def fast_output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str | None:
    capsys.readouterr()
    answered = _fast.run(argv)
    out = capsys.readouterr().out
    if not answered:
        assert out == ""
        return None
    return out


def same_as_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The fast answer to ``argv``, checked to be the command's output byte for byte."""
    fast = fast_output(argv, capsys)
    full = cli.invoke(argv)
    assert full.exit_code == 0, full.output
    assert fast is not None
    assert fast == full.stdout
    return fast


def outcomes_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``OUTCOMES_HOME`` (mode 0700) in use, with no ``OUTCOMES_DB_URL``."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("OUTCOMES_HOME", str(home))
    monkeypatch.delenv("OUTCOMES_DB_URL", raising=False)
    return home


@pytest.mark.parametrize("seed", range(12))
def test_fast_answer_is_the_commands_output_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    path = tmp_path / "o.db"
    _random_store(path, seed)
    same_as_command(["models", "--json", "--db", f"sqlite:///{path}"], capsys)


@pytest.mark.parametrize("seed", range(6))
def test_fast_ledger_stats_is_the_commands_output_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    path = tmp_path / "o.db"
    _random_store(path, 100 + seed)
    same_as_command(["ledger", "stats", "--json", "--db", f"sqlite:///{path}"], capsys)


def test_fast_path_reads_the_default_store_under_outcomes_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = outcomes_home(tmp_path, monkeypatch)
    _random_store(home / "outcomes.db", 99)
    fast = fast_output(["models", "--db=" + f"sqlite:///{home / 'outcomes.db'}", "--json"], capsys)
    default = fast_output(["models", "--json"], capsys)
    full = cli.invoke(["models", "--json"])
    assert fast == default == full.stdout
    assert full.stdout.startswith("[")


@pytest.mark.parametrize(
    "argv",
    [
        ["models"],
        ["models", "--json", "--task", "code"],
        ["models", "--json", "--json"],
        ["models", "--json", "--db"],
        ["models", "show", "gpt-4o", "--json"],
        ["ledger", "stats", "--json", "--since", "7d"],
        ["ledger", "stats"],
        ["models", "--json", "--db", "memory://"],
    ],
)
def test_fast_path_declines_what_it_does_not_answer_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert fast_output(argv, capsys) is None


def test_fast_path_declines_a_missing_file_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "absent.db"
    assert fast_output(["models", "--json", "--db", f"sqlite:///{path}"], capsys) is None
    assert not path.exists()


def test_fast_path_declines_a_store_with_a_pending_migration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "o.db"
    _random_store(path, 3)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM outcomes_migrations WHERE name = 'core.0003_receipts_ttft'")
    conn.close()
    assert fast_output(["models", "--json", "--db", f"sqlite:///{path}"], capsys) is None


def test_fast_path_declines_a_file_that_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(b"not a database at all" * 100)
    assert fast_output(["models", "--json", "--db", f"sqlite:///{path}"], capsys) is None
    assert path.read_bytes() == b"not a database at all" * 100


def test_fast_path_refuses_a_symlinked_default_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real.db"
    _random_store(real, 4)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "outcomes.db").symlink_to(real)
    monkeypatch.setenv("OUTCOMES_HOME", str(home))
    monkeypatch.delenv("OUTCOMES_DB_URL", raising=False)
    assert fast_output(["models", "--json"], capsys) is None
    assert cli.invoke(["models", "--json"]).exit_code != 0


def test_fast_answer_does_not_import_the_json_package(tmp_path: Path) -> None:
    # Importing it compiles regular expressions this output never uses (docs/cli.md).
    path = tmp_path / "o.db"
    _random_store(path, 3)
    probe = (
        "import sys\nfrom outcomes.cli import main\nmain()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'json'))"
    )
    argv = ["models", "--json", "--db", f"sqlite:///{path}"]
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
    ).stdout
    printed, loaded = out.rstrip("\n").rsplit("\n", 1)
    assert printed.startswith("[")
    assert loaded == "[]"
