"""``outcomes models --json`` answered without the command-line layer.

Scripts and dashboards poll the leaderboard; each run is a fresh process, so its cost is
mostly start-up. For the plain form (``models --json``, optionally ``--db URL``) on a
SQLite store this module reads the rollup rows (``store._sqlite_read``), builds the same
:class:`~outcomes.inference.ModelProfile` objects the command builds and prints them with
the same encoder: the output is the command's, byte for byte (a test compares both on
random stores). It loads neither ``argparse`` nor ``msgspec`` nor the store classes.

It declines (returns ``None``, and the command runs as usual) whenever it is not sure to
answer exactly as the command would: any other option, a store that is not SQLite, a
file that is missing, not current or busy, a path the link policy refuses. Nothing is
printed before it has the whole answer, so declining late is still clean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outcomes.inference._view import ModelProfile

_MISSING = object()


def sort_key(p: ModelProfile) -> tuple[float, float, str]:
    """Leaderboard order: posterior mean success, then quality, then id."""
    return (-p.success_mean, -(p.quality if p.quality is not None else 0.0), p.model_id)


def _models_json_db(argv: list[str]) -> object:
    """The ``--db`` value (``None`` when absent) if ``argv`` is exactly ``models --json``
    with at most a ``--db``; :data:`_MISSING` for anything else."""
    if not argv or argv[0] != "models":
        return _MISSING
    rest, db, json_seen = argv[1:], None, False
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


def run(argv: list[str]) -> bool:
    """Answer ``argv`` here if it is a command this module knows; ``False`` when the
    ordinary command line must run it instead (nothing was printed then)."""
    db = _models_json_db(argv)
    if db is _MISSING:
        return False
    assert db is None or isinstance(db, str)
    from outcomes import config
    from outcomes._files import check_path
    from outcomes.errors import OutcomesError
    from outcomes.store._sqlite_read import path_from_url, read_rollups

    try:
        url, managed = config.db_target(db)
        if not url.startswith("sqlite:"):
            return False
        path = path_from_url(url)
        check_path(path, root=managed, explicit=managed is None)
        rows = read_rollups(path, config.busy_timeout())
    except (OutcomesError, OSError):
        return False  # the command reports it, with its exit code
    if rows is None:
        return False
    from outcomes.cli._json import print_json
    from outcomes.inference._view import profiles_of
    from outcomes.store._rollup_rows import rollup_state

    profiles = sorted(profiles_of(rollup_state(*rows)), key=sort_key)
    print_json([p.to_json() for p in profiles])
    return True
