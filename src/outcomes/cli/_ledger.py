"""The ``outcomes ledger`` group: export, import, prune, verify, stats."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from outcomes._files import atomic_open
from outcomes._redact import scrub_stored
from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Exit, Option
from outcomes.errors import UnsafePathError, ValidationError
from outcomes.ledger import (
    export_jsonl,
    import_jsonl,
    parse_duration,
    parse_since,
    prune,
    summarize,
    verify,
)

if TYPE_CHECKING:
    from rich.table import Table


app = cli.new_app(help="The append-only receipt ledger.", no_args_is_help=True)


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except ValidationError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc


@app.command("export")
def export(
    since: str | None = Option(
        None, "--since", help="Only receipts from then: 7d, 2026-11-01, or Unix seconds."
    ),
    until: str | None = Option(None, "--until", help="Only receipts before then."),
    output: Path | None = Option(None, "--output", "-o", help="Write here instead of stdout."),
    db: str | None = cli.DbOption,
) -> None:
    """Write receipts as JSON lines (docs/ledger.md), oldest first."""
    start, end = _since(since), _since(until)
    if output is not None and (not output.name or output.is_dir()):
        raise cli.fail(f"--output must name a file, got {str(output)!r}", cli.EXIT_USAGE)
    with cli.opened_store(db) as store:
        if output is None:
            try:
                count = export_jsonl(store, sys.stdout, since=start, until=end)
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader went away (`... | head`): stop quietly, like other Unix tools.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                raise Exit(0) from None
        else:
            # Owner-only, atomic, and into an existing folder only (no surprise folders).
            try:
                with atomic_open(output) as fh:
                    count = export_jsonl(store, fh, since=start, until=end)
            except OSError as exc:
                raise cli.fail(
                    str(exc)
                    if isinstance(exc, UnsafePathError)
                    else f"cannot write {output}: {exc.strerror}",
                    cli.EXIT_USAGE,
                ) from None
    cli.err_console.print(f"exported {count} receipts", highlight=False)


@app.command("import")
def import_(
    file: Path = Argument(..., help="A JSONL file, or - for standard input."),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Import receipts; bad and torn lines are skipped and reported, duplicates ignored."""
    with cli.opened_store(db) as store:
        if str(file) == "-":
            report = import_jsonl(store, sys.stdin.buffer)
        else:
            try:
                fh = open(file, "rb")  # noqa: SIM115
            except OSError as exc:
                raise cli.fail(f"cannot read {file}: {exc.strerror}", cli.EXIT_USAGE) from exc
            with fh:
                report = import_jsonl(store, fh)
    # Skipped lines are a problem the caller must see: exit 1 (docs/cli.md), not 0.
    code = cli.EXIT_PROBLEMS if report.skipped else cli.EXIT_OK
    if json:
        cli.print_json(report.as_dict())
        raise Exit(code)
    cli.console.print(
        f"imported {report.imported} receipts from {report.lines} lines "
        f"({report.duplicates} already present, {report.invalid} invalid"
        f"{', torn last line skipped' if report.torn_last_line else ''})"
    )
    for p in report.problems:
        reason = scrub_stored(p.reason)  # a refused line may hold a credential
        cli.console.print(f"  line {p.line}: {reason}", highlight=False, markup=False)
    if report.invalid > len(report.problems):
        cli.console.print(f"  ... {report.invalid - len(report.problems)} more invalid lines")
    raise Exit(code)


@app.command("prune")
def prune_cmd(
    keep: int | None = Option(
        None, "--keep", min=1, help="Keep only the N most recent receipts (N >= 1)."
    ),
    older_than: str | None = Option(
        None, "--older-than", help="Delete receipts older than this, e.g. 30d."
    ),
    everything: bool = Option(False, "--all", help="Delete every receipt: empty the ledger."),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Apply retention: the only way receipts leave the ledger."""
    # `--keep 0` once meant "no pruning" and now would mean "delete everything": it is
    # refused (by min=1 above) so that emptying the ledger is never an accident.
    if everything and (keep is not None or older_than is not None):
        raise cli.fail("--all deletes every receipt; give it alone", cli.EXIT_USAGE)
    if not everything and keep is None and older_than is None:
        raise cli.fail("give --keep N and/or --older-than DURATION (or --all)", cli.EXIT_USAGE)
    try:
        seconds = parse_duration(older_than) if older_than is not None else None
    except ValidationError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    from outcomes.inference import prune_feedback

    with cli.opened_store(db) as store:
        deleted = prune(store, keep=0 if everything else keep, older_than=seconds)
        feedback = prune_feedback(store)
    if json:
        cli.print_json({"deleted": deleted, "feedback_deleted": feedback})
    else:
        extra = f" and {feedback} feedback rows and tags" if feedback else ""
        cli.console.print(f"deleted {deleted} receipts{extra}")


@app.command("verify")
def verify_cmd(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Check the store's integrity; exit code 1 when problems are found."""
    with cli.opened_store(db, create=False, migrate=False) as store:
        report = verify(store, known=ALL_MIGRATIONS)
    if json:
        cli.print_json(report.as_dict())
    else:
        cli.console.print(f"checked {report.receipts} receipts in {report.store}")
        for p in report.problems:
            cli.console.print(f"[red]{p.check}:[/] {p.detail}", highlight=False)
        for note in report.notes:
            cli.console.print(f"[dim]note: {note}[/]", highlight=False)
        if report.ok:
            cli.console.print("[green]ledger OK[/]")
    if not report.ok:
        raise Exit(cli.EXIT_PROBLEMS)


@app.command("stats")
def stats(
    since: str | None = Option(None, "--since", help="Only receipts from then (7d, ISO date)."),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Receipts per model and task: outcomes, mean latency, cost."""
    with cli.opened_store(db) as store:
        rows = summarize(store, since=_since(since))
    if json:
        cli.print_json(rows)
        return
    cli.console.print(ledger_table(rows))


def ledger_table(rows: list[dict[str, object]], title: str = "receipts by model and task") -> Table:
    from rich.table import Table

    table = Table(title=title)
    for col in (
        "model",
        "task",
        "calls",
        "success",
        "failure",
        "unknown",
        "mean latency",
        "cost",
    ):
        table.add_column(col, justify="left" if col in ("model", "task") else "right")
    for r in rows:
        lat = r["mean_latency_ms"]
        table.add_row(
            str(r["model_id"]),
            str(r["task"] or "all"),
            str(r["calls"]),
            str(r["successes"]),
            str(r["failures"]),
            str(r["unknown"]),
            f"{lat:,.0f} ms" if isinstance(lat, float) else "-",
            f"${r['cost_usd']:.4f}",
        )
    return table
