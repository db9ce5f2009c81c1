"""The foundation's commands, run as a user would: version, init, doctor, db, ledger, demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from outcomes import __version__
from outcomes.records import Receipt
from outcomes.store import SQLiteStore
from outcomes.testing import cli

KEY = "sk-test-" + "Q7" * 12


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(list(args))
    return result.exit_code, result.output


def seed_receipts(db: Path, n: int = 5) -> None:
    store = SQLiteStore(db)
    store.write(
        [
            Receipt(
                f"r{i}", f"t{i}", "m", "code", 1_700_000_000.0 + i, success=True, latency_ms=10.0
            )
            for i in range(n)
        ]
    )
    store.close()


def test_version() -> None:
    code, out = invoke("--version")
    assert code == 0
    assert out.strip() == f"outcomes {__version__}"


def test_init_creates_an_owner_only_store_and_applies_migrations(outcomes_home: Path) -> None:
    code, out = invoke("init", "--json")
    assert code == 0, out
    info = json.loads(out)
    assert "core.0001_receipts" in info["applied"] or info["schema_version"]
    db = outcomes_home / "outcomes.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(outcomes_home.stat().st_mode) == 0o700
    code, out = invoke("db", "status", "--json")
    assert code == 0
    assert json.loads(out)["pending"] == []


def test_doctor_on_a_healthy_store(outcomes_home: Path) -> None:
    invoke("init")
    code, out = invoke("doctor", "--json")
    assert code == 0, out
    info = json.loads(out)
    assert info["ok"] is True
    assert info["kind"] == "sqlite"
    assert info["integrity"] == "ok"
    assert info["writer"]["queue_size"] > 0


def test_doctor_reports_a_garbage_database_and_leaves_it(outcomes_home: Path) -> None:
    outcomes_home.mkdir(mode=0o700)
    db = outcomes_home / "outcomes.db"
    db.write_bytes(b"this is not sqlite" * 100)
    os.chmod(db, 0o600)
    code, out = invoke("doctor", "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert any("not a healthy SQLite database" in p for p in problems)
    assert db.read_bytes() == b"this is not sqlite" * 100
    code, out = invoke("ledger", "verify")
    assert code == 3
    assert db.read_bytes() == b"this is not sqlite" * 100


def test_doctor_flags_loose_permissions(outcomes_home: Path) -> None:
    invoke("init")
    os.chmod(outcomes_home / "outcomes.db", 0o644)
    code, out = invoke("doctor", "--json")
    assert code == 1
    assert any("0o644" in p for p in json.loads(out)["problems"])


def test_doctor_without_a_database_says_how_to_create_one(outcomes_home: Path) -> None:
    code, out = invoke("doctor")
    assert code == 1
    assert "outcomes init" in out
    assert not (outcomes_home / "outcomes.db").exists()


def test_ledger_export_import_round_trip_between_stores(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    seed_receipts(a, 7)
    out_file = tmp_path / "ledger.jsonl"
    code, out = invoke("ledger", "export", "--db", f"sqlite:///{a}", "-o", str(out_file))
    assert code == 0, out
    assert len(out_file.read_text().splitlines()) == 7
    code, out = invoke("ledger", "import", str(out_file), "--db", f"sqlite:///{b}", "--json")
    assert code == 0, out
    assert json.loads(out)["imported"] == 7
    code, out = invoke("ledger", "import", str(out_file), "--db", f"sqlite:///{b}", "--json")
    assert json.loads(out)["duplicates"] == 7
    code, out = invoke("ledger", "stats", "--db", f"sqlite:///{b}", "--json")
    assert json.loads(out)[0]["calls"] == 7


def test_ledger_import_reports_bad_lines_with_numbers(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    f = tmp_path / "in.jsonl"
    good = json.dumps(Receipt("x1", "t", "m", "code", 1_700_000_000.0).to_json())
    f.write_text(f"{good}\n{{broken\n{good.replace('x1', 'x2')}\n{good[:20]}")
    code, out = invoke("ledger", "import", str(f), "--db", f"sqlite:///{db}")
    assert code == 1, out  # lines were skipped: the documented "problems" exit code
    assert "imported 2 receipts from 4 lines" in out
    assert "line 2: invalid JSON" in out
    assert "torn" in out


def test_ledger_import_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, out = invoke(
        "ledger", "import", str(tmp_path / "nope.jsonl"), "--db", f"sqlite:///{tmp_path / 'a.db'}"
    )
    assert code == 2
    assert "cannot read" in out


def test_ledger_prune_and_its_argument_errors(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    seed_receipts(db, 10)
    url = f"sqlite:///{db}"
    assert invoke("ledger", "prune", "--db", url)[0] == 2
    assert invoke("ledger", "prune", "--older-than", "soon", "--db", url)[0] == 2
    code, out = invoke("ledger", "prune", "--keep", "4", "--db", url, "--json")
    assert code == 0
    assert json.loads(out) == {"deleted": 6, "feedback_deleted": 0}


def test_ledger_verify_exit_codes(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a.db"
    seed_receipts(db, 3)
    url = f"sqlite:///{db}"
    code, out = invoke("ledger", "verify", "--db", url, "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    conn = sqlite3.connect(db)
    conn.execute("UPDATE receipts SET quality = -1 WHERE receipt_id = 'r1'")
    conn.commit()
    conn.close()
    code, out = invoke("ledger", "verify", "--db", url, "--json")
    assert code == 1
    assert "quality=-1" in json.loads(out)["problems"][0]["detail"]


def test_demo_runs_end_to_end_and_shows_tables(outcomes_home: Path) -> None:
    # Run in a subprocess, as `make run` does, on the default SQLite store.
    proc = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "demo", "--calls", "300", "--only", "ledger"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OUTCOMES_HOME": str(outcomes_home), "COLUMNS": "120"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "this run's receipts" in proc.stdout
    assert "written (committed)" in proc.stdout
    assert str(outcomes_home / "demo.db") in proc.stdout
    store = SQLiteStore(outcomes_home / "demo.db")
    assert store.count(Receipt.__table__) == 300
    store.close()
    assert not (outcomes_home / "outcomes.db").exists()


@pytest.mark.parametrize("secret", [KEY, "AKIAIOSFODNN7EXAMPLE"])
def test_secrets_in_imported_errors_never_reach_the_store(tmp_path: Path, secret: str) -> None:
    db = tmp_path / "a.db"
    f = tmp_path / "in.jsonl"
    f.write_text(
        json.dumps(
            Receipt("x1", "t", "m", "code", 1_700_000_000.0).to_json()
            | {"error": f"denied {secret}"}
        )
        + "\n"
    )
    code, out = invoke("ledger", "import", str(f), "--db", f"sqlite:///{db}")
    assert "imported 1 receipts" in out  # the line is stored, scrubbed
    assert secret.encode() not in db.read_bytes()
    code, out = invoke("ledger", "export", "--db", f"sqlite:///{db}")
    assert code == 0
    assert secret not in out
