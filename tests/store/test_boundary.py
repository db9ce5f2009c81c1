"""Every wing reaches the store through its narrow interface: no SQL outside ``store/``.

Wings declare named queries (``<wing>/_queries.py``) that the store runs; nothing outside
``src/outcomes/store/`` may test which store it has or hand it raw SQL.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "outcomes"
FORBIDDEN = re.compile(
    r"isinstance\([^)]*(SqlStore|SQLiteStore|PostgresStore)"
    r"|\.fetch\(|\.iterate\(|\.execute\(|\.executemany\("
)


def offenders() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.is_relative_to(SRC / "store"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    return found


def test_no_sql_and_no_store_type_checks_outside_the_store_package() -> None:
    assert offenders() == []


def test_the_check_sees_what_it_forbids(tmp_path: Path) -> None:
    # The pattern must match the forms it exists for (a check that cannot fail is no check).
    for line in (
        "if isinstance(store, SqlStore):",
        "rows = store.fetch('SELECT 1')",
        "store.iterate(sql, params)",
        "cur.execute(sql)",
    ):
        assert FORBIDDEN.search(line), line
    assert not FORBIDDEN.search("store.iter_query(FOLD_ROWS, (kind, 0))")
