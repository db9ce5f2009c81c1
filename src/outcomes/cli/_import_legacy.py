"""``outcomes import-legacy``: bring the older tools' files into outcomes."""

from __future__ import annotations

from pathlib import Path

from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Exit, Option
from outcomes.errors import OutcomesError

app = cli.new_app()


@app.command("import-legacy")
def import_legacy_cmd(
    path: Path = Argument(..., help="A file of the older tools (format detected)."),
    out: Path | None = Option(
        None, "--out", help="Where a converted profile file goes (default: PATH.outcomes.json)."
    ),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Import a model-profile JSON, a receipt ledger or a component tracker JSON of the
    tools outcomes replaces (docs/cli.md). Exit 1 when some items were skipped."""
    from outcomes.legacy import LegacyFormat, detect_format, import_legacy

    try:
        kind = detect_format(path)
    except OSError as exc:
        raise cli.fail(f"cannot read {path}: {exc.strerror or exc}", cli.EXIT_USAGE) from None
    except OutcomesError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from None
    try:
        if kind is LegacyFormat.PROFILES:
            report = import_legacy(path, out=out)
        else:
            with cli.opened_store(db) as store:
                report = import_legacy(path, store=store)
    except OSError as exc:
        raise cli.fail(f"cannot import {path}: {exc.strerror or exc}", cli.EXIT_USAGE) from None
    except OutcomesError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from None
    if json:
        cli.print_json(report.to_json())
    else:
        where = f" into {report.written_to}" if report.written_to else ""
        cli.console.print(
            f"legacy {report.format.value}: imported {report.imported}{where} "
            f"({report.duplicates} already present, {report.invalid} skipped)",
            highlight=False,
        )
        for item, reason in report.problems:
            cli.console.print(f"  item {item}: {reason}", highlight=False, markup=False)
        if report.format is LegacyFormat.PROFILES:
            cli.console.print(
                "load it with OutcomeTracker.load_from_file(...)", highlight=False, markup=False
            )
    raise Exit(cli.EXIT_PROBLEMS if report.invalid else cli.EXIT_OK)
