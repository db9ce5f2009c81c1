"""The command-line layer: parameters declared by default values, groups, help, errors
that name what was wrong, and exit codes."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from outcomes.cli._framework import App, Argument, Context, Exit, Option
from outcomes.testing import cli


class Color(Enum):
    RED = "red"
    BLUE = "blue"


def _app() -> tuple[App, list[dict[str, Any]]]:
    """A root with one command and one group whose bare form does something, recording
    the calls it got."""
    calls: list[dict[str, Any]] = []
    root = App(help="A test root.", no_args_is_help=True)

    @root.command("paint")
    def paint(
        target: Path = Argument(..., help="What to paint."),
        color: Color = Option(Color.RED, "--color", help="Which paint."),
        coats: int = Option(1, "--coats", min=1, max=5, help="How many coats."),
        ratio: float | None = Option(None, "--ratio", min=0.0),
        tags: list[str] = Option([], "--tag", help="Repeat for more."),
        dry_run: bool = Option(False, "--dry-run", help="Only say what would happen."),
        fast: bool = Option(True, "--fast/--slow"),
        note: str = Option("", "-n", "--note"),
    ) -> None:
        """Paint a thing.

        A second paragraph that only --help shows.
        """
        calls.append(
            {
                "target": target,
                "color": color,
                "coats": coats,
                "ratio": ratio,
                "tags": tags,
                "dry_run": dry_run,
                "fast": fast,
                "note": note,
            }
        )
        if coats == 5:
            raise Exit(1)

    return root, calls


def test_declared_parameters_arrive_typed_with_their_defaults() -> None:
    root, calls = _app()
    assert cli.invoke(["paint", "wall"], app=root).exit_code == 0
    assert calls == [
        {
            "target": Path("wall"),
            "color": Color.RED,
            "coats": 1,
            "ratio": None,
            "tags": [],
            "dry_run": False,
            "fast": True,
            "note": "",
        }
    ]


def test_every_kind_of_value_is_parsed() -> None:
    root, calls = _app()
    args = ["paint", "--color", "blue", "--coats=3", "--ratio", "0.5", "--tag", "a", "--tag"]
    result = cli.invoke([*args, "b", "--dry-run", "--slow", "-n", "-", "door"], app=root)
    assert result.exit_code == 0, result.output
    assert calls[0] == {
        "target": Path("door"),
        "color": Color.BLUE,
        "coats": 3,
        "ratio": 0.5,
        "tags": ["a", "b"],
        "dry_run": True,
        "fast": False,
        "note": "-",
    }


def test_a_list_default_is_never_shared_between_runs() -> None:
    root, calls = _app()
    cli.invoke(["paint", "x"], app=root)
    calls[0]["tags"].append("mutated")
    cli.invoke(["paint", "y"], app=root)
    assert calls[1]["tags"] == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["paint", "x", "--coats", "many"], "argument --coats: 'many' is not an integer"),
        (["paint", "x", "--coats", "0"], "argument --coats: 0 is not >= 1 and <= 5"),
        (["paint", "x", "--coats", "9"], "argument --coats: 9 is not >= 1 and <= 5"),
        (["paint", "x", "--ratio", "nan"], "argument --ratio: nan is not >= 0"),
        (["paint", "x", "--ratio", "-1e400"], "argument --ratio: -1e400 is not >= 0"),
        (
            ["paint", "x", "--color", "green"],
            "argument --color: 'green' is not one of 'red', 'blue'",
        ),
        (["paint", "x", "--bogus"], "unrecognized arguments: --bogus"),
        (["paint", "x", "--coats"], "argument --coats: expected one argument"),
        (["paint"], "the following arguments are required: TARGET"),
        (["nope"], "no such command 'nope'"),
        (["paint", "x", "--col", "red"], "unrecognized arguments: --col red"),
    ],
)
def test_a_bad_command_line_names_what_was_wrong_and_exits_2(args: list[str], named: str) -> None:
    root, calls = _app()
    result = cli.invoke(args, app=root)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"error: {named}"
    assert result.stderr.startswith("usage: ")
    assert calls == []


def test_exit_ends_with_its_code() -> None:
    root, calls = _app()
    assert cli.invoke(["paint", "x", "--coats", "5"], app=root).exit_code == 1
    assert len(calls) == 1


def test_help_documents_options_types_defaults_and_the_whole_docstring() -> None:
    root, _ = _app()
    result = cli.invoke(["paint", "--help"], app=root, terminal_width=200)
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("usage: outcomes paint")
    assert "A second paragraph that only --help shows." in out
    for shown in (
        "--coats INTEGER",
        "How many coats. [default: 1]",
        "--color {red,blue}",
        "Which paint. [default: red]",
        "--slow",
        "Not --fast.",
        "TARGET",
        "What to paint. [required]",
    ):
        assert shown in out


def test_root_help_lists_commands_in_order_with_their_first_line() -> None:
    root, _ = _app()

    @root.command("clean")
    def clean() -> None:
        """Clean up."""

    out = cli.invoke(["--help"], app=root).stdout
    listing = out.split("commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listing] == ["paint", "clean"]
    assert listing[0].endswith("Paint a thing.")


def test_a_group_without_arguments_prints_its_help_and_exits_2() -> None:
    root, _ = _app()
    result = cli.invoke([], app=root)
    assert result.exit_code == 2
    assert "commands:" in result.stderr


def _group() -> tuple[App, list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    root = App()
    group = App(help="Things.", invoke_without_command=True)

    @group.callback()
    def things(
        ctx: Context, loud: bool = Option(False, "--loud"), n: int = Option(1, "--n")
    ) -> None:
        seen.append(("group", (ctx.invoked_subcommand, loud, n)))

    @group.command("show")
    def show(name: str = Argument(...), loud: bool = Option(False, "--loud")) -> None:
        seen.append(("show", (name, loud)))

    root._lazy, root._load = ("things",), lambda name: group
    return root, seen


def test_a_group_runs_its_callback_alone_or_before_its_subcommand() -> None:
    root, seen = _group()
    assert cli.invoke(["things", "--n", "3", "--loud"], app=root).exit_code == 0
    assert cli.invoke(["things", "--n", "2", "show", "x", "--loud"], app=root).exit_code == 0
    assert seen == [
        ("group", (None, True, 3)),
        ("group", ("show", False, 2)),
        ("show", ("x", True)),
    ]


def test_walk_yields_every_runnable_command_with_its_parameters() -> None:
    root, _ = _group()
    found = {path: [p.name for p in cmd.params] for path, cmd in root.walk()}
    assert found == {("things", "show"): ["name", "loud"], ("things",): ["loud", "n"]}


def test_an_unexpected_error_goes_to_on_error_which_picks_the_code() -> None:
    def on_error(exc: Exception) -> Exit:
        print(f"error: handled {type(exc).__name__}")
        return Exit(70)

    root = App(on_error=on_error)

    @root.command("boom")
    def boom() -> None:
        raise RuntimeError("x")

    result = cli.invoke(["boom"], app=root)
    assert (result.exit_code, result.stdout, result.exception) == (
        70,
        "error: handled RuntimeError\n",
        None,
    )
    unhandled = App()
    unhandled.commands = root.commands
    result = cli.invoke(["boom"], app=unhandled)
    assert isinstance(result.exception, RuntimeError)


def test_the_runner_feeds_stdin_and_sets_the_environment_only_for_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import sys

    monkeypatch.setenv("OUTCOMES_TEST_VAR", "before")
    root = App()

    @root.command("echo")
    def echo() -> None:
        sys.stdout.write(sys.stdin.read().upper())
        sys.stderr.write(os.environ.get("OUTCOMES_TEST_VAR", "unset") + "\n")

    result = cli.invoke(["echo"], app=root, input="hi\n", env={"OUTCOMES_TEST_VAR": None})
    assert (result.stdout, result.stderr, result.output) == ("HI\n", "unset\n", "HI\nunset\n")
    assert os.environ["OUTCOMES_TEST_VAR"] == "before"


def test_the_real_root_answers_version_and_lists_its_commands() -> None:
    from outcomes import __version__

    assert cli.invoke(["--version", "models"]).stdout == f"outcomes {__version__}\n"
    result = cli.invoke(["models", "show", "m", "--bogus"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "error: unrecognized arguments: --bogus"
