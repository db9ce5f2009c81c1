"""The rollup tables' columns and the statements that read them, and nothing else.

Apart from ``_rollup_rows`` (which decodes rows into profile state, and so loads the
statistics and ``dataclasses``) so that ``outcomes ledger stats --json`` answered by
``cli._fast`` loads only these strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from outcomes.errors import StoreCorruptError

STAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("receipts", "int"), ("calls", "int"), ("successes", "int"), ("failures", "int"),
    ("inconclusive", "int"), ("latency_n", "int"), ("latency_zero", "int"),
    ("latency_total_s", "float"), ("latency_max_s", "float"), ("latency_sketch", "text"),
    ("latency_ms_total", "float"), ("input_tokens", "int"), ("output_tokens", "int"),
    ("cost_usd", "float"), ("costed_calls", "int"), ("quality_n", "int"),
    ("quality_sum", "float"), ("dw_pos", "float"), ("dwq_pos", "float"), ("dw_neg", "float"),
    ("dwq_neg", "float"), ("ds_pos", "float"), ("ds_neg", "float"), ("df_pos", "float"),
    ("df_neg", "float"), ("last_at", "float"),
)  # fmt: skip
"""The columns after the key of both rollup tables, in order (decayed sums: NULL = -inf)."""
STAT_NAMES = tuple(n for n, _ in STAT_COLUMNS)
HOURLY_KEY = ("model_id", "task", "project_key", "hour")
CELL_KEY = ("model_id", "task", "project_key")
EMA_KEY = ("model_id", "task")

CELL_SELECT = f"SELECT {', '.join((*CELL_KEY, *STAT_NAMES))} FROM rollup_cells"
"""Every rollup cell: ``model_id, task, project_key`` then the stat columns."""
EMA_SELECT = "SELECT model_id, task, value FROM rollup_ema"
"""``ema_quality`` per model (task ``''``) and per (model, task)."""
TOTAL_COLUMNS = ("receipts", "calls", "successes", "failures", "inconclusive")
SUM_COLUMNS = ("latency_ms_total", "cost_usd")
CELL_TOTALS_SELECT = (
    "SELECT model_id, task, "
    + ", ".join(f"SUM({c})" for c in (*TOTAL_COLUMNS, *SUM_COLUMNS))
    + " FROM rollup_cells GROUP BY model_id, task ORDER BY model_id, task"
)
"""Per (model, task), from the rollups: receipts, calls, successes, failures,
inconclusive, total latency (ms), total known cost (``ledger stats``)."""
OTHER_KIND_COLUMNS = (
    "model_id", "task", "success", "supersedes", "superseded_success", "latency_ms", "cost_usd",
)  # fmt: skip
OTHER_KINDS_SELECT = (
    f"SELECT {', '.join(OTHER_KIND_COLUMNS)} FROM receipts WHERE kind <> 'inference'"
)
"""The receipts of kinds the rollups leave out (served by a partial index)."""


def bad_row(table: str, key: Sequence[Any], exc: Exception) -> StoreCorruptError:
    """The error for a row of ``table`` (key ``key``) whose values cannot be read: what
    is wrong, and the command that rebuilds the rollups from the receipts."""
    from outcomes.errors import StoreCorruptError

    return StoreCorruptError(
        f"malformed {table} row {tuple(key)!r}: {exc} "
        "(`outcomes profiles rebuild` rebuilds the rollups from the receipts)"
    )


def stored_int(value: Any) -> int:
    """An integer column's ``value`` as ``int()`` reads it; ``ValueError`` past 64 bits
    (a float that reached an integer column of SQLite, which keeps it as it is)."""
    n = int(value)
    if not -(2**63) <= n < 2**63:
        raise ValueError(f"{value!r} is not a 64-bit integer")
    return n
