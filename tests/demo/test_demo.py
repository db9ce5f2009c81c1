"""The demo writes to a store of its own and says where, never to the user's outcomes.db."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from outcomes.records import Receipt
from outcomes.store import SQLiteStore


def _outcomes(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outcomes.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OUTCOMES_HOME": str(home), "COLUMNS": "200"},
        check=False,
    )


def _receipts(path: Path) -> int:
    store = SQLiteStore(path, create=False)
    try:
        return store.count(Receipt.__table__)
    finally:
        store.close()


def test_the_whole_demo_leaves_the_real_store_without_a_demo_receipt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _outcomes(home, "init").returncode == 0
    proc = _outcomes(home, "demo", "--calls", "200")
    assert proc.returncode == 0, proc.stderr
    assert _receipts(home / "outcomes.db") == 0
    assert _receipts(home / "demo.db") > 200
    assert f"writes to its own store: sqlite:///{home / 'demo.db'}" in proc.stdout
    assert f"outcomes models --db sqlite:///{home / 'demo.db'}" in proc.stdout


def test_the_demo_writes_where_it_is_told(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    proc = _outcomes(home, "demo", "--calls", "50", "--only", "ledger", "--store", url)
    assert proc.returncode == 0, proc.stderr
    assert _receipts(tmp_path / "elsewhere.db") == 50
    assert url in proc.stdout
    assert not (home / "outcomes.db").exists()
    assert not (home / "demo.db").exists()


def test_the_demo_ignores_the_real_store_url_in_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    real = tmp_path / "real.db"
    env = {**os.environ, "OUTCOMES_HOME": str(home), "OUTCOMES_DB_URL": f"sqlite:///{real}"}
    proc = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "demo", "--calls", "20", "--only", "ledger"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert not real.exists()
    assert _receipts(home / "demo.db") == 20


def test_the_demo_refuses_a_demo_db_that_is_a_symlink(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    other = tmp_path / "other-app.db"
    other.write_bytes(b"")
    other.chmod(0o644)
    (home / "demo.db").symlink_to(other)
    proc = _outcomes(home, "demo", "--calls", "20", "--only", "ledger")
    assert proc.returncode != 0
    assert "symlink" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert other.read_bytes() == b""
    assert other.stat().st_mode & 0o777 == 0o644


def test_the_library_imports_neither_the_demo_nor_the_test_helpers() -> None:
    import ast

    import outcomes

    src = Path(outcomes.__file__).parent
    faces = ("cli", "demo", "testing")
    offenders = []
    for path in src.rglob("*.py"):
        if path.relative_to(src).parts[0] in faces:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{path.relative_to(src)}: {n}"
                for n in names
                if n.split(".")[:2] in (["outcomes", f] for f in faces)
            ]
    assert offenders == []
