"""How commands are registered: one module per command or group, found by name, loaded
only when used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import outcomes.cli
from outcomes.cli._app import COMMANDS, clean_exit, module_of
from outcomes.cli._framework import App
from outcomes.errors import ConfigError, StoreUnavailableError, ValidationError
from outcomes.records import Receipt
from outcomes.store import SQLiteStore
from outcomes.testing import cli

CLI = Path(outcomes.cli.__file__).parent
SHARED = {"_app", "_common", "_fast", "_framework", "_json", "_plot"}
"""Modules of the CLI that hold no command."""


def test_every_command_module_is_listed_and_every_listed_command_has_a_module() -> None:
    modules = {p.stem for p in CLI.glob("_*.py")} - SHARED - {"__init__", "__main__"}
    assert {module_of(name).rsplit(".", 1)[1] for name in COMMANDS} == modules


@pytest.mark.parametrize("name", COMMANDS)
def test_each_module_defines_its_command_through_one_app(name: str) -> None:
    module = importlib.import_module(module_of(name))
    assert isinstance(module.app, App)
    result = cli.invoke([name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"outcomes {name}" in result.output


def test_root_help_lists_every_command_in_order() -> None:
    out = cli.invoke(["--help"], env={"COLUMNS": "200"}).stdout
    listing = out.split("commands:\n", 1)[1]
    assert [line.split()[0] for line in listing.splitlines()] == list(COMMANDS)


def test_a_group_of_one_subcommand_stays_a_group() -> None:
    result = cli.invoke(["profiles", "--help"])
    assert "rebuild" in result.output


def test_a_daily_command_loads_neither_routing_nor_numpy(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    store.write([Receipt("r1", "t1", "m", "code", 1_700_000_000.0, success=True)])
    store.close()
    probe = (
        "import sys, json\n"
        f"sys.argv = ['outcomes', 'models', '--json', '--db', 'sqlite:///{tmp_path / 'o.db'}']\n"
        "from outcomes.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    heavy = {"numpy", "scipy", "outcomes.routing", "matplotlib", "tree_sitter"}
    assert not loaded & (heavy | {"rich", "typer", "click", "pydantic"})


def _failing_app(error: Exception) -> App:
    broken = App(on_error=clean_exit)

    @broken.callback()
    def _root() -> None:
        """A root like the real one."""

    @broken.command("boom")
    def _boom() -> None:
        raise error

    return broken


def test_a_bug_is_one_line_and_code_70_and_its_traceback_is_on_request() -> None:
    broken = _failing_app(ZeroDivisionError("x"))
    result = cli.invoke(["boom"], app=broken)
    assert result.exit_code == 70
    assert "Traceback" not in result.output
    assert "internal error (ZeroDivisionError: x)" in result.output
    result = cli.invoke(["boom"], app=broken, env={"OUTCOMES_DEBUG": "1"})
    assert result.exit_code == 70
    assert "Traceback" in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("bad line"), 2),
        (ConfigError("bad setting"), 2),
        (StoreUnavailableError("server down"), 3),
        (PermissionError(13, "Permission denied", "/some/file"), 3),
    ],
)
def test_errors_no_command_expected_get_their_documented_code(error: Exception, code: int) -> None:
    result = cli.invoke(["boom"], app=_failing_app(error))
    assert result.exit_code == code
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
