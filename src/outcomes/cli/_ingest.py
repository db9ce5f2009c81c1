"""``outcomes ingest``: record lifecycle events (start/complete/failure/signal) from JSON lines."""

from __future__ import annotations

import sys

from outcomes._redact import scrub_stored
from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Exit
from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker, ingest_stream
from outcomes.store import BackgroundWriter

app = cli.new_app()


@app.command("ingest")
def ingest(
    file: str = Argument(..., help="JSON-lines file of lifecycle events, or - for stdin."),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Record lifecycle events (start/complete/failure/signal) from JSON lines.

    Bad lines are reported with their line number and skipped; good ones are kept.
    Records wait for room in the writer's queue (never dropped). Exit 0 when every line
    was good and stored, 1 when some were skipped or not stored, 2 for an unreadable file.
    """
    with cli.opened_store(db) as store:
        # A bulk path waits for room in the writer's queue instead of dropping records;
        # nothing here reads profiles, so the tracker keeps no local fold of them.
        writer = BackgroundWriter(store, WriterSettings.from_env(overflow="block"))
        tracker = OutcomeTracker(store, writer=writer, strict=True, local_profiles=False)
        try:
            if file == "-":
                report = ingest_stream(tracker, sys.stdin.buffer)
            else:
                try:
                    with open(file, "rb") as stream:
                        report = ingest_stream(tracker, stream)
                except OSError as exc:
                    raise cli.fail(f"cannot read {file}: {exc.strerror}", cli.EXIT_USAGE) from None
        finally:
            tracker.close()
            committed = writer.close(timeout=None)
    stats = writer.stats()
    lost = stats.dropped + stats.failed + (0 if committed else stats.queued)
    if json:
        cli.print_json({**report.to_json(), "lost": lost})
    else:
        cli.console.print(
            f"{report.applied} events recorded, {report.ignored} changed nothing, "
            f"{report.invalid} bad lines skipped",
            highlight=False,
        )
        if report.extra_fields:
            names = ", ".join(sorted(report.extra_names))
            cli.console.print(
                f"{report.extra_fields} unknown fields dropped ({names})", markup=False
            )
        for p in report.problems:
            reason = scrub_stored(p.reason)  # a refused line may hold a credential
            cli.err_console.print(f"line {p.line}: {reason}", highlight=False, markup=False)
    if lost:
        cli.err_console.print(f"{lost} records were not stored (see outcomes doctor)", markup=False)
    raise Exit(cli.EXIT_PROBLEMS if report.invalid or lost else cli.EXIT_OK)
