"""The ``outcomes code`` group: code adoption from git (check, suggest, hooks)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Option
from outcomes.errors import ValidationError
from outcomes.inference import OutcomeTracker
from outcomes.inference.code import (
    FALLBACK_MESSAGE,
    MAX_SUGGESTION_CHARS,
    CheckReport,
    CodeAdoption,
    CodeFinding,
    install_hook,
    structure_available,
    uninstall_hook,
)

if TYPE_CHECKING:
    from rich.table import Table

app = cli.new_app(
    help="Code adoption from git: which suggestions ended up in the repo.", no_args_is_help=True
)

RepoOption = Option(Path("."), "--repo", help="A path inside the git work tree.")


suggestion_json = cli.json_shape(
    "suggestion_id trace_id repo path language created_at status verdict confidence symbols"
    " survival",
    symbols=lambda s: [d["name"] for d in s.symbols],
)
finding_json = cli.json_shape(
    "signal_id trace_id suggestion_id path symbol scope verdict confidence source timestamp",
    signal_id=lambda f: f.finding_id,
)


def findings_table(rows: list[CodeFinding], title: str = "code verdicts") -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("trace", no_wrap=True)
    table.add_column("file", overflow="fold")
    table.add_column("symbol", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("seen in", no_wrap=True)
    for f in rows:
        source = (f.source or "-").replace("commit:", "")[:8]
        verdict = f.verdict if f.scope != "survival" else f"survival {f.verdict}"
        symbol = f.symbol or ("(whole suggestion)" if f.scope == "verdict" else "-")
        table.add_row(f.trace_id[-8:], f.path, symbol, verdict, cli.num(f.confidence), source)
    return table


@app.command("check")
def check(
    *,
    repo: Path = RepoOption,
    all_repos: bool = Option(
        False, "--all", help="Check every repository that has stored suggestions."
    ),
    ttl_hours: float = Option(
        24.0, "--ttl-hours", min=0.001, help="Hours without a trace before 'ignored'."
    ),
    quiet: bool = Option(False, "--quiet", help="Print nothing (for the git hook)."),
    db: str | None = cli.DbOption,
    as_json: bool = cli.JsonOption,
) -> None:
    """Compare pending suggestions with the work tree, index and new commits; emit verdicts."""
    if not structure_available("python") and not quiet and not as_json:
        cli.err_console.print(f"[yellow]note:[/] {FALLBACK_MESSAGE}", highlight=False)
    reports: list[CheckReport] = []
    with cli.opened_store(db) as store:
        tracker = OutcomeTracker(store)
        try:
            adoption = CodeAdoption(store, sink=tracker, ttl=ttl_hours * 3600)
            targets: list[Path] = [repo]
            if all_repos:
                known = {s.repo for s in adoption.suggestions() if s.status != "undecidable"}
                targets = [Path(r) for r in sorted(known) if Path(r).is_dir()]
            for target in targets:
                try:
                    reports.append(adoption.check(target))
                except ValidationError as exc:
                    if not all_repos:
                        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
                    cli.err_console.print(f"[yellow]skipped[/] {target}: {exc}", highlight=False)
        finally:
            tracker.close()
    if quiet:
        return
    if as_json:
        data = [
            {
                "repo": r.repo,
                "pending": r.pending,
                "provisional": r.provisional,
                "findings": [finding_json(f) for f in r.findings],
            }
            for r in reports
        ]
        cli.print_json(data if all_repos else data[0])
        return
    for report in reports:
        cli.console.print(
            findings_table(list(report.findings), title=f"new verdicts in {report.repo}")
        )
        cli.console.print(f"{report.pending} suggestion(s) still pending")


@app.command("suggest")
def suggest(
    trace_id: str = Argument(..., help="Trace id of the call that made the suggestion."),
    file: Path = Argument(..., help="The file the suggestion is meant for."),
    repo: Path | None = Option(None, "--repo", help="The work tree (default: the file's)."),
    db: str | None = cli.DbOption,
    as_json: bool = cli.JsonOption,
) -> None:
    """Remember a suggestion (code read from stdin) as fingerprints; the text is not stored."""
    # Read at most one character past the limit, so a huge pipe costs bounded memory and
    # still gets the "exceeds" error from CodeAdoption.suggest.
    code = sys.stdin.read(MAX_SUGGESTION_CHARS + 1)
    with cli.opened_store(db) as store:
        try:
            s = CodeAdoption(store).suggest(trace_id, file.resolve(), code, repo=repo)
        except ValidationError as exc:
            raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    if as_json:
        cli.print_json(suggestion_json(s))
        return
    cli.console.print(
        f"tracking {s.path} for {s.trace_id} ({s.language}, {len(s.lines)} novel lines)"
    )


@app.command("install-hook")
def install(
    repo: Path = RepoOption,
    db: str | None = Option(
        None, "--db", help="Store URL the hook passes to 'code check' (default: environment)."
    ),
) -> None:
    """Install a git post-commit hook that runs 'outcomes code check' after each commit."""
    try:
        path = install_hook(repo, db=db)
    except ValidationError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    cli.console.print(f"installed post-commit hook: {path}")


@app.command("uninstall-hook")
def uninstall(repo: Path = RepoOption) -> None:
    """Remove the outcomes block from the post-commit hook (the rest of the hook stays)."""
    try:
        removed = uninstall_hook(repo)
    except ValidationError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    cli.console.print("removed" if removed else "no outcomes hook installed")
