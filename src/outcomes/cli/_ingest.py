"""``outcomes ingest``: record lifecycle events (start/complete/failure/signal) from JSON lines."""

from __future__ import annotations

import sys

import typer

from outcomes.cli._common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    new_app,
    opened_store,
    print_json,
)
from outcomes.inference import OutcomeTracker, ingest_stream

app = new_app()


@app.command("ingest")
def ingest(
    file: str = typer.Argument(..., help="JSON-lines file of lifecycle events, or - for stdin."),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Record lifecycle events (start/complete/failure/signal) from JSON lines.

    Bad lines are reported with their line number and skipped; good ones are kept.
    Exit 0 when every line was good, 1 when some were skipped, 2 for an unreadable file.
    """
    with opened_store(db) as store:
        tracker = OutcomeTracker(store, strict=True)
        try:
            if file == "-":
                report = ingest_stream(tracker, sys.stdin.buffer)
            else:
                try:
                    with open(file, "rb") as stream:
                        report = ingest_stream(tracker, stream)
                except OSError as exc:
                    raise fail(f"cannot read {file}: {exc.strerror}", EXIT_USAGE) from None
        finally:
            tracker.close()
    if json:
        print_json(report.to_json())
    else:
        console.print(
            f"{report.applied} events recorded, {report.ignored} changed nothing, "
            f"{report.invalid} bad lines skipped",
            highlight=False,
        )
        if report.extra_fields:
            names = ", ".join(sorted(report.extra_names))
            console.print(f"{report.extra_fields} unknown fields dropped ({names})", markup=False)
        if report.receipts_lost:
            err_console.print(f"{report.receipts_lost} receipts were not stored", markup=False)
        for p in report.problems:
            err_console.print(f"line {p.line}: {p.reason}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PROBLEMS if report.invalid or report.receipts_lost else EXIT_OK)
