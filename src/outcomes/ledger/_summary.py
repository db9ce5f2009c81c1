"""``ledger stats`` numbers from rows: per (model, task) totals and receipt rows.

Apart from ``_maintenance`` (which loads the receipt declaration and ``msgspec``) so
that ``cli._fast`` can answer ``outcomes ledger stats --json`` from the same code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any


def _bucket(success: bool | None) -> str:
    # A SQL boolean may read back as 0/1: only its truth and None-ness count.
    return "successes" if success else "unknown" if success is None else "failures"


def summary_rows(
    cell_totals: Iterable[Sequence[Any]], receipts: Iterable[Sequence[Any]], by_task: bool = True
) -> list[dict[str, Any]]:
    """The rows of ``ledger stats``: ``cell_totals`` are rollup totals per (model, task)
    (``CELL_TOTALS_SELECT``), ``receipts`` receipt rows the totals do not cover
    (``OTHER_KIND_COLUMNS``), optionally followed by a sign: ``-1`` takes the receipt
    back (``ledger.edge_rows``); see :func:`outcomes.ledger.summarize`."""
    acc: dict[tuple[str, str], Counter[str]] = {}
    sums: dict[tuple[str, str], list[float]] = {}

    def cell(key: tuple[str, str]) -> tuple[Counter[str], list[float]]:
        c = acc.get(key)
        if c is None:
            c = acc[key] = Counter()
            sums[key] = [0.0, 0.0]
        return c, sums[key]

    for model, task, n, calls, ok, bad, unknown, lat, cost in cell_totals:
        c, s = cell((model, task if by_task else ""))
        c.update(receipts=int(n), calls=int(calls), successes=int(ok), failures=int(bad))
        c["unknown"] += int(unknown)
        s[0] += float(lat)
        s[1] += float(cost)
    for model, task, success, supersedes, superseded_success, latency, cost, *sign in receipts:
        c, s = cell((model, task if by_task else ""))
        k = sign[0] if sign else 1
        c["receipts"] += k
        c[_bucket(success)] += k
        if supersedes is not None:
            c[_bucket(superseded_success)] -= k
            continue
        c["calls"] += k
        s[0] += k * latency
        s[1] += k * (cost or 0.0)
    rows = []
    for (model, task), c in sorted(acc.items()):
        n = c["calls"]
        rows.append(
            {
                "model_id": model,
                "task": task or None,
                "calls": n,
                "receipts": c["receipts"],
                "successes": c["successes"],
                "failures": c["failures"],
                "unknown": c["unknown"],
                "mean_latency_ms": sums[(model, task)][0] / n if n else None,
                "cost_usd": sums[(model, task)][1],
            }
        )
    return rows
