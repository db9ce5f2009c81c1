"""``outcomes models --json``, ``ledger stats --json`` and ``components report --json``
answered without the command line.

Scripts and dashboards poll these; each run is a fresh process, so its cost is mostly
start-up. For the plain form (``--json``, optionally ``--db URL``) on a SQLite or
PostgreSQL store this module reads the rows the command reads (``store._sqlite_read``;
``store._pg_read``, through libpq without psycopg), builds the answer
(:func:`~outcomes.inference._board.leaderboard_of_rows`, the command's merges and
``ModelProfile.to_json``'s :func:`~outcomes.inference._board.profile_json` without the
profile objects; the command's own :func:`~outcomes.ledger._summary.summary_rows`;
:func:`~outcomes.components._report.reports_of_totals` and ``ComponentReport.to_json``)
and prints it with the same encoder: the
output is the command's, byte for byte (tests compare both on random stores of both
engines). It loads neither ``argparse`` nor ``msgspec`` nor the store classes.

It declines (returns ``False``, and the command runs as usual) whenever it is not sure
to answer exactly as the command would: any other option, another kind of store, a file
that is missing, not current or busy, a wing's tables not migrated (the command would
create them), a path the link policy refuses, a database not
migrated to this version, no libpq to load. Nothing is printed before it has the whole
answer, so declining late is still clean. A PostgreSQL server it cannot reach (or a URL
libpq refuses) is reported as the command reports it, exit code 3, password hidden:
asking again the ordinary way would only wait for the server a second time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from outcomes.store._sqlite_read import Rows

_MISSING = object()
_PG_SCHEMES = ("postgresql://", "postgres://")
EXIT_STORE = 3
"""``cli._common.EXIT_STORE``: the store could not be opened (a test keeps them equal)."""
COMPONENT_TOTALS_SELECT = (
    "SELECT component_id, outcome, events, first_at, last_at FROM component_outcomes"
)
"""``components._queries.OUTCOME_TOTAL_ROWS``' statement (a test keeps them equal)."""
COMPONENT_MIGRATION_NAMES = ("components.0001_events", "components.0002_outcome_totals")
"""The names of ``components.MIGRATIONS`` (a test keeps them equal): a store without
them all declines, as the command would create the tables."""


def _json_db(argv: list[str], command: list[str]) -> object:
    """The ``--db`` value (``None`` when absent) if ``argv`` is exactly ``command`` then
    ``--json`` with at most a ``--db``; :data:`_MISSING` for anything else."""
    if argv[: len(command)] != command:
        return _MISSING
    rest, db, json_seen = argv[len(command) :], None, False
    while rest:
        arg = rest.pop(0)
        if arg == "--json" and not json_seen:
            json_seen = True
        elif arg == "--db" and db is None and rest and not rest[0].startswith("-"):
            db = rest.pop(0)
        elif arg.startswith("--db=") and db is None and len(arg) > len("--db="):
            db = arg[len("--db=") :]
        else:
            return _MISSING
    return db if json_seen else _MISSING


def _models(rows: list[Rows]) -> Any:
    from outcomes.inference._board import leaderboard_of_rows

    return leaderboard_of_rows(*rows)


def _ledger_stats(rows: list[Rows]) -> Any:
    from outcomes.ledger._summary import summary_rows

    cells, receipts = rows
    return summary_rows(cells, receipts)


def _components_report(rows: list[Rows]) -> Any:
    from outcomes.components._report import reports_of_totals

    return [r.to_json() for r in reports_of_totals(rows[0])]


def _rollup_selects(*names: str) -> Callable[[], tuple[str, ...]]:
    def selects() -> tuple[str, ...]:
        from outcomes.store import _rollup_sql

        return tuple(getattr(_rollup_sql, name) for name in names)

    return selects


def _configured(db: str | None, selects: tuple[str, ...], wing: tuple[str, ...]) -> Any:
    """What ``config`` makes of ``db``: a PostgreSQL URL (a ``str``), the rows of
    ``selects`` on a SQLite store, or ``None`` to decline."""
    from outcomes import config
    from outcomes.errors import OutcomesError

    try:
        # Strings, not ``config.db_target``: ``pathlib`` would cost a tenth of the answer.
        target = config.db_target_str(db)
        if target is None:
            return None
        url, managed = target
        if url.startswith(_PG_SCHEMES):
            return url
        if not url.startswith("sqlite:"):
            return None
        from outcomes._paths import check_links, plain_path
        from outcomes.store._sqlite_read import read_current, url_path

        path = plain_path(url_path(url))
        if path is None:
            return None  # spelled so that ``Path`` would rewrite it: the command decides
        check_links(path, managed, explicit=managed is None)
        return read_current(path, config.busy_timeout(), *selects, wing=wing)
    except (OutcomesError, OSError):
        return None  # the command reports it, with its exit code


def _read(
    db: str | None, *selects: str, meanwhile: tuple[str, ...] = (), wing: tuple[str, ...] = ()
) -> list[Rows] | None:
    """The rows of ``selects`` on the store ``db`` names, or ``None`` to decline; the
    modules ``meanwhile`` names are imported while a PostgreSQL server works; ``wing``:
    the migrations the statements need besides the core's. Raises
    :class:`~outcomes.errors.StoreUnavailableError` for a PostgreSQL server it cannot
    reach (or a URL libpq refuses): asking again the ordinary way would only wait again."""
    if db and db.startswith(_PG_SCHEMES):
        # A named store is used as named (``config.db_target_str``): a PostgreSQL URL
        # needs nothing of ``config``, whose import is a tenth of this path's.
        pg_url = db
    else:
        found = _configured(db, selects, wing)
        if not isinstance(found, str):
            return cast("list[Rows] | None", found)
        pg_url = found
    from outcomes.store import _pg_read

    steps = [lambda name=name: __import__(name) for name in meanwhile]
    return _pg_read.read_current(pg_url, *selects, meanwhile=steps, wing=wing)


_Answer = Callable[[list["Rows"]], Any]
_COMMANDS: tuple[
    tuple[list[str], Callable[[], tuple[str, ...]], tuple[str, ...], _Answer, tuple[str, ...]],
    ...,
] = (
    (["models"], _rollup_selects("CELL_SELECT", "EMA_SELECT"), (), _models,
     ("outcomes.cli._json", "outcomes.inference._board")),
    (["ledger", "stats"], _rollup_selects("CELL_TOTALS_SELECT", "OTHER_KINDS_SELECT"), (),
     _ledger_stats, ("outcomes.cli._json", "outcomes.ledger._summary")),
    (["components", "report"], lambda: (COMPONENT_TOTALS_SELECT,), COMPONENT_MIGRATION_NAMES,
     _components_report, ("outcomes.cli._json", "outcomes.components._report")),
)  # fmt: skip
"""Each command answered here: its words, the statements whose rows it reads (names in
``store._rollup_sql``, or its own), the wing migrations they need, how it makes its
answer of the rows, and the modules that answer imports, in order (imported while a
PostgreSQL server sets the connection up or runs the statements, so that the wait and
the imports overlap)."""


def run(argv: list[str]) -> bool:
    """Answer ``argv`` here if it is a command this module knows; ``False`` when the
    ordinary command line must run it instead (nothing was printed then)."""
    for command, selects, wing, answer, modules in _COMMANDS:
        db = _json_db(argv, command)
        if db is _MISSING:
            continue
        assert db is None or isinstance(db, str)
        from outcomes.errors import StoreUnavailableError

        try:
            rows = _read(db, *selects(), meanwhile=modules, wing=wing)
        except StoreUnavailableError as exc:
            # As the command reports it (``cli._common.fail``), without loading rich.
            sys.stderr.write(f"error: {exc}\n")
            raise SystemExit(EXIT_STORE) from None
        if rows is None:
            return False
        from outcomes.cli._json import print_json
        from outcomes.errors import StoreError

        try:
            answer_ = answer(rows)
        except StoreError as exc:  # a row it cannot read, named: as the command reports it
            sys.stderr.write(f"error: {exc}\n")
            raise SystemExit(EXIT_STORE) from None
        print_json(answer_)
        return True
    return False
