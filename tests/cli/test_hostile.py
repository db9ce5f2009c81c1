"""Every command, driven with hostile arguments and a hostile environment, ends with a
clear message and a documented exit code (docs/cli.md), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcomes.cli._app import app
from outcomes.cli._common import EXIT_INTERNAL
from outcomes.cli._framework import Command
from outcomes.testing import cli

DOCUMENTED = {0, 1, 2, 3}

# Plausible values for required parameters, so that the hostile part is the only bad one.
REQUIRED = {
    "model": "m",
    "component": "c",
    "outcome": "install_success",
    "run": "r1",
    "issue": "i1",
    "value": "accepted",
    "trace_id": "t1",
    "task": "code",
}
# The demo runs no part unless asked: hostile values then cost nothing.
BASE = {
    ("demo",): ["--calls", "10", "--only", "none"],
    ("serve",): ["--check"],
    ("mcp",): ["--check"],
}


LEAVES = list(app.walk())


def _ids(leaf: tuple[tuple[str, ...], Command]) -> str:
    return " ".join(leaf[0]) or "root"


def _args(
    path: tuple[str, ...], cmd: Command, garbage: Path, hostile: tuple[str, str] | None = None
) -> list[str]:
    """The command line: required parameters filled in, plus one hostile (name, value)."""
    args: list[str] = [*path, *BASE.get(path, [])]
    for p in cmd.params:
        if hostile is not None and p.name == hostile[0]:
            value = hostile[1]
        elif p.required:
            value = REQUIRED.get(p.name, str(garbage))
        else:
            continue
        args += [value] if p.kind == "argument" else [p.opts[0], value]
    return args


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = cli.invoke(args, env=env, input="")
    output = result.output  # stdout and stderr, interleaved
    if result.exception is not None:
        raise AssertionError(f"{args}: uncaught {result.exception!r}\n{output}")
    return result.exit_code, output


def _check(args: list[str], env: dict[str, str]) -> None:
    code, output = _run(args, env)
    assert "Traceback" not in output, (args, env, output)
    assert code != EXIT_INTERNAL, (args, env, output)
    assert code in DOCUMENTED, (args, env, code, output)
    if code not in (0, 1):
        assert output.strip(), (args, "failed without a word")


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder: relative paths then land in it, never in a repository."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTCOMES_DB_URL", raising=False)
    (tmp_path / "garbage").write_bytes(b"\x00\xff{[" * 64 + b"[" * 30_000 + b"\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "home").mkdir()
    return tmp_path


def _hostile_envs(place: Path) -> dict[str, dict[str, str]]:
    not_a_folder = place / "home-file"
    not_a_folder.write_text("I am a file\n")
    corrupt = place / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    home = str(place / "home")
    dangling = place / "dangling"
    dangling.symlink_to(place / "nowhere")
    return {
        "home is a dangling link": {"OUTCOMES_HOME": str(dangling)},
        "store is a dangling link": {
            "OUTCOMES_HOME": home,
            "OUTCOMES_DB_URL": f"sqlite:///{dangling}",
        },
        "home is a regular file": {"OUTCOMES_HOME": str(not_a_folder)},
        "home under a regular file": {"OUTCOMES_HOME": str(not_a_folder / "sub")},
        "unknown store scheme": {"OUTCOMES_HOME": home, "OUTCOMES_DB_URL": "nope://x"},
        "store is a folder": {
            "OUTCOMES_HOME": home,
            "OUTCOMES_DB_URL": f"sqlite:///{place / 'a-folder'}",
        },
        "store is not a database": {
            "OUTCOMES_HOME": home,
            "OUTCOMES_DB_URL": f"sqlite:///{corrupt}",
        },
        "server unreachable": {
            "OUTCOMES_HOME": home,
            "OUTCOMES_DB_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
        },
        "absurd writer settings": {
            "OUTCOMES_HOME": home,
            "OUTCOMES_WRITER_FLUSH_INTERVAL": "1e308",
            "OUTCOMES_WRITER_QUEUE_SIZE": "-5",
            "OUTCOMES_BUSY_TIMEOUT": "nan",
        },
    }


@pytest.mark.slow
@pytest.mark.parametrize("leaf", LEAVES, ids=_ids)
def test_a_hostile_environment_gives_a_clear_error(
    leaf: tuple[tuple[str, ...], Command], place: Path
) -> None:
    path, cmd = leaf
    args = _args(path, cmd, place / "garbage")
    for env in _hostile_envs(place).values():
        _check(args, env)


HOSTILE_VALUES = (
    "inf",
    "-inf",
    "nan",
    "-1",
    "0",
    "1e400",
    "99999999999999999999999",
    "",
    "\u202eevil",
    "garbage",
    "a-folder",
    "no/such/folder/file",
)


@pytest.mark.slow
@pytest.mark.parametrize("leaf", LEAVES, ids=_ids)
def test_hostile_arguments_give_a_clear_error(
    leaf: tuple[tuple[str, ...], Command], place: Path
) -> None:
    path, cmd = leaf
    env = {"OUTCOMES_HOME": str(place / "home")}
    for p in cmd.params:
        if p.kind == "option" and p.is_flag:
            continue
        for value in HOSTILE_VALUES:
            _check(_args(path, cmd, place / "garbage", (p.name, value)), env)


@pytest.mark.parametrize("command", [["init"], ["models"], ["ledger", "export"], ["doctor"]])
def test_a_home_that_is_a_file_is_named_in_one_line(command: list[str], place: Path) -> None:
    home = place / "home-file"
    home.write_text("not a folder\n")
    code, output = _run(command, {"OUTCOMES_HOME": str(home)})
    assert code == (1 if command == ["doctor"] else 3)
    problem = [line for line in output.splitlines() if str(home) in line and "folder" in line]
    assert len(problem) == 1, output
    assert "Traceback" not in output


def test_an_infinite_session_gap_is_a_usage_error(place: Path) -> None:
    code, output = _run(
        ["components", "conflicts", "--session-gap", "inf"], {"OUTCOMES_HOME": str(place)}
    )
    assert code == 2
    assert "session_gap" in output
