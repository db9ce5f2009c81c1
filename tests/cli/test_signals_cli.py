"""``outcomes code ...`` and ``outcomes signals`` on a real repository and SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from outcomes.inference import CodeAdoption, ConversationSignals, OutcomeTracker
from outcomes.records import Receipt
from outcomes.store import open_store
from outcomes.testing import cli
from tests.inference.code.conftest import Repo

BASE = "def area(r):\n    return 3.14159 * r * r\n"
SUGGESTION = "def perimeter(r):\n    doubled = 2 * r\n    return 3.14159 * doubled\n"


def _setup(tmp_path: Path) -> tuple[Repo, str, str]:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    repo = Repo(tmp_path / "repo")
    repo.write("geo.py", BASE)
    repo.commit("base")
    store = open_store(db)
    tracker = OutcomeTracker(store)
    trace = tracker.record_start("coder-1", "code", "code route")
    tracker.record_complete(trace, 900.0, 300, 120)
    CodeAdoption(store).suggest(trace, repo.root / "geo.py", SUGGESTION)
    ConversationSignals(tracker, store=store).observe(
        trace, question="perimeter?", response="here", next_message="Thanks, that works!"
    )
    tracker.close()
    store.close()
    return repo, db, trace


def test_check_resolves_a_committed_suggestion_into_the_tracker(tmp_path: Path) -> None:
    repo, db, trace = _setup(tmp_path)
    repo.write("geo.py", BASE + "\n\n" + SUGGESTION)
    repo.commit("adopt")
    result = cli.invoke(["code", "check", "--repo", str(repo.root), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [f["verdict"] for f in out["findings"] if f["scope"] == "verdict"] == ["applied"]
    again = cli.invoke(["code", "check", "--repo", str(repo.root), "--db", db, "--json"])
    assert json.loads(again.stdout)["findings"] == []
    store = open_store(db)
    receipts = [r for r in store.scan(Receipt.__table__) if r.trace_id == trace]
    store.close()
    code_receipts = [r for r in receipts if r.source == "signal" and r.quality == 1.0]
    assert len(code_receipts) == 1, "one applied verdict, counted once"

    shown = cli.invoke(["signals", "--db", db, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["pending"] == []
    assert {f["verdict"] for f in data["code"]} >= {"applied"}
    assert [c["verdict"] for c in data["conversation"]] == ["accepted"]
    table = cli.invoke(["signals", "--db", db])
    assert "applied" in table.stdout


def test_signals_lists_pending_suggestions(tmp_path: Path) -> None:
    _, db, trace = _setup(tmp_path)
    data = json.loads(cli.invoke(["signals", "--db", db, "--json"]).stdout)
    assert [(p["trace_id"], p["path"], p["status"]) for p in data["pending"]] == [
        (trace, "geo.py", "pending")
    ]
    assert "perimeter" not in json.dumps(data["pending"]).replace('"perimeter"', "")


def test_check_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    result = cli.invoke(["code", "check", "--repo", str(tmp_path), "--db", db])
    assert result.exit_code == 2


def test_suggest_reads_code_from_stdin(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("geo.py", BASE)
    repo.commit("base")
    db = f"sqlite:///{tmp_path / 'o.db'}"
    result = cli.invoke(
        ["code", "suggest", "t-9", str(repo.root / "geo.py"), "--db", db, "--json"],
        input=SUGGESTION,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "pending"


def test_suggest_refuses_oversized_stdin_with_a_clear_error(tmp_path: Path) -> None:
    from outcomes.inference.code import MAX_SUGGESTION_CHARS

    repo = Repo(tmp_path / "repo")
    repo.write("geo.py", BASE)
    repo.commit("base")
    db = f"sqlite:///{tmp_path / 'o.db'}"
    target = str(repo.root / "geo.py")
    proc = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "code", "suggest", "t-9", target, "--db", db],
        input="x = 1\n" * (MAX_SUGGESTION_CHARS // 6 + 1000),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"exceeds {MAX_SUGGESTION_CHARS}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_post_commit_hook_runs_the_check(tmp_path: Path) -> None:
    repo, db, trace = _setup(tmp_path)
    from outcomes.inference.code import install_hook, uninstall_hook

    hook = install_hook(repo.root, db=db, background=False)
    assert os.access(hook, os.X_OK)
    install_hook(repo.root, db=db, background=False)
    assert hook.read_text().count("outcomes code check") == 2, "begin+end marker, once"
    repo.write("geo.py", BASE + SUGGESTION)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(["git", "-C", str(repo.root), "commit", "-qam", "adopt"], check=True, env=env)
    store = open_store(db)
    adoption = CodeAdoption(store)
    statuses = [(s.trace_id, s.verdict) for s in adoption.suggestions()]
    store.close()
    assert statuses == [(trace, "applied")]
    assert uninstall_hook(repo.root)
    assert not hook.exists()


def test_install_hook_keeps_an_existing_hook(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    hooks = repo.root / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "post-commit").write_text("#!/bin/sh\necho mine\n")
    result = cli.invoke(["code", "install-hook", "--repo", str(repo.root)])
    assert result.exit_code == 0, result.output
    text = (hooks / "post-commit").read_text()
    assert "echo mine" in text
    assert "outcomes.cli code check" in text
    cli.invoke(["code", "uninstall-hook", "--repo", str(repo.root)])
    assert (hooks / "post-commit").read_text() == "#!/bin/sh\necho mine\n"


def test_demo_part_shows_both_channels() -> None:
    result = cli.invoke(["demo", "--db", "memory://", "--only", "signals"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for word in ("applied", "modified", "ignored", "accepted", "rejected", "inconclusive"):
        assert word in out
    assert "found 0 new verdicts" in out


def test_check_all_visits_every_known_repository(tmp_path: Path) -> None:
    repo, db, _ = _setup(tmp_path)
    repo.write("geo.py", BASE + SUGGESTION)
    repo.commit("adopt")
    result = cli.invoke(["code", "check", "--all", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["repo"] for r in data] == [str(repo.root.resolve())]
    assert [f["verdict"] for f in data[0]["findings"] if f["scope"] == "verdict"] == ["applied"]
