"""Every registered named query gives the same answer on memory, SQLite and PostgreSQL.

The same records (receipts of two kinds with supersession and unknown outcomes,
component events, shadow observations with and without labels and caller scores) are
written to a memory store and to the store under test; each query runs with each of its
parameter sets on both and the answers must match: row for row where the query's order
is part of its contract, as multisets otherwise, floats to 1e-9.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import pytest

from outcomes.components import _queries as component_queries
from outcomes.components._records import ComponentEvent
from outcomes.components._schema import MIGRATIONS as COMPONENT_MIGRATIONS
from outcomes.inference import _queries as inference_queries
from outcomes.inference import _since as since_queries
from outcomes.inference._feedback_schema import MIGRATIONS as FEEDBACK_MIGRATIONS
from outcomes.inference._feedback_schema import TraceTag
from outcomes.ledger import _queries as ledger_queries
from outcomes.records import Receipt
from outcomes.server.dashboard import _queries as dashboard_queries
from outcomes.shadow import _queries as shadow_queries
from outcomes.shadow._records import ShadowDecision, ShadowObservation
from outcomes.shadow._schema import MIGRATIONS as SHADOW_MIGRATIONS
from outcomes.stats._sketch import LatencySketch
from outcomes.store import MemoryStore, Query, Store, registered_queries
from outcomes.store import _newest as newest_queries
from outcomes.store._rollup_rows import STAT_NAMES

_REGISTERED_ON_IMPORT = (inference_queries, component_queries, shadow_queries, ledger_queries)
_REGISTERED_ON_IMPORT = (
    inference_queries,
    component_queries,
    shadow_queries,
    dashboard_queries,
    newest_queries,
)
_T0 = 1_760_000_000.0

PARAMS: dict[str, list[tuple[Any, ...]]] = {
    "inference.fold_rows": [("inference", 0), ("inference", 7), ("trajectory", 0), ("x", 0)],
    "inference.fold_rows_since": [
        ("inference", "inference", 0.0),
        ("inference", "inference", 1_760_000_020.0),
        ("trajectory", "trajectory", 1_760_000_005.0),
    ],
    "inference.fold_rows_tagged": [("inference", "ui"), ("inference", "none-such")],
    "inference.fold_rows_tagged_since": [
        ("inference", "inference", 1_760_000_010.0, "ui"),
        ("inference", "inference", 0.0, "beta"),
    ],
    "components.outcome_rows": [
        (("install_success", "install_failure"),),
        (["removed_by_user"],),
        ((),),
    ],
    "inference.rollup_cells": [()],
    "inference.rollup_ema": [()],
    "inference.rollup_hours": [(0, 4_000_000_000), (1_750_000_000, 1_750_003_600), (5, 5)],
    "inference.rollup_range": [
        inference_queries.range_params(0, 2**62),
        inference_queries.range_params(1_760_000_000 // 3600 * 3600, 1_760_003_600),
        inference_queries.range_params(0, 2**62, days=False),
    ],
    "inference.since_heads": [(-1e300, 0), (1_760_000_010.5, 1_760_003_600), (2e9, 2e9)],
    "inference.since_edge_calls": [
        since_queries.edge_params(since, -(-since // 3600) * 3600)
        for since in (-(2.0**52), 1_760_000_000.0, 1_760_000_010.5, 1_760_000_013.0)
    ],
    "inference.since_newest": [
        ("Qwen", "generate", "", 0.0, 2e9, 0.0),
        ("claude", "code", "p", 1_760_000_005.0, 1_760_000_030.0, 1_760_000_005.0),
        ("gpt-4o", "code", "p", 2e9, 2e9, 2e9),
    ],
    "ledger.cell_totals": [()],
    "ledger.other_kind_rows": [()],
    "ledger.hour_totals": [(0,), (1_760_000_000 // 3600 * 3600,), (2**40,)],
    "ledger.edge_rows": [
        ledger_queries.edge_params(since, -(-since // 3600) * 3600)
        for since in (-1e300, 1_760_000_000.0, 1_760_000_010.5, 1_760_007_200.0)
    ],
    "ledger.export_rows": [(-1e300, 1e300), (1_760_000_010.0, 1_760_000_020.0)],
    "components.outcome_counts": [()],
    "components.outcome_totals": [()],
    "shadow.calibration_rows": [()],
    "shadow.decision_totals": [()],
    "shadow.calibration_rows_in_namespace": [("ns-a",), ("none-such",)],
    "shadow.paired_rows": [()],
    "shadow.paired_rows_in_namespace": [("ns-a",), ("none-such",)],
    "shadow.calibration_buckets_caller": [(None, None), ("ns-b", "ns-b")],
    "shadow.calibration_buckets_derived": [(None, None), ("ns-a", "ns-a")],
    "dashboard.series": [
        dashboard_queries.series_params(3600, 0.0, 2e9, "", "", ""),
        dashboard_queries.series_params(86_400, _T0 - 7200, _T0 + 30, "code", "", ""),
        dashboard_queries.series_params(7200, 0.0, 2e9, "", "p", "Qwen"),
    ],
    "dashboard.cells": [
        dashboard_queries.cells_params(0, 2**62),
        dashboard_queries.cells_params(1_760_000_000 // 3600 * 3600, 1_760_000_000 + 3600),
        dashboard_queries.cells_params(2_000_000_000, 2**62),
    ],
    "dashboard.recent": [
        dashboard_queries.recent_params(0.0, 2e9, 100, "", "", "", limit=50),
        dashboard_queries.recent_params(0.0, 2e9, 12, "code", "", "", limit=3),
        dashboard_queries.recent_params(_T0 + 3, _T0 + 20, 100, "generate", "p", "Qwen", limit=50),
    ],
    "dashboard.outcomes": [
        dashboard_queries.outcomes_params(0.0, 2e9, 100, "", ""),
        dashboard_queries.outcomes_params(0.0, 2e9, 12, "code", ""),
        dashboard_queries.outcomes_params(_T0 + 3, _T0 + 20, 100, "generate", "p"),
        dashboard_queries.outcomes_params(2e9, 3e9, 100, "", ""),
    ],
    "receipts.count_upto": [(0.0, 2e9, 100), (0.0, 2e9, 7), (_T0 + 3, _T0 + 20, 5), (2e9, 3e9, 1)],
    "receipts.nth_newest": [(0.0, 2e9, 0), (0.0, 2e9, 39), (0.0, 2e9, 40), (_T0 + 3, _T0 + 20, 9)],
    "receipts.oldest": [()],
}
"""Parameter sets per query name. A registered query missing here fails the suite."""


def _records() -> list[Any]:
    rng = random.Random(7)
    out: list[Any] = []
    t0 = 1_760_000_000.0
    for i in range(40):
        kind = "inference" if i % 5 else "trajectory"
        success = [True, False, None][i % 3]
        out.append(
            Receipt(
                receipt_id=f"r{i:03d}",
                trace_id=f"t{i:03d}",
                model_id=["gpt-4o", "Qwen", "claude"][i % 3],
                task=["code", "generate"][i % 2],
                timestamp=t0 + i,
                success=success,
                quality=None if i % 4 else round(rng.random(), 3),
                latency_ms=float(rng.randint(0, 900)),
                input_tokens=rng.randint(0, 10_000),
                output_tokens=rng.randint(0, 2**40),
                cost_usd=None if i % 6 == 0 else rng.random() / 100,
                error="429 Too Many Requests" if success is False else None,
                routing_reason=["", "rule-a", "rule-b"][i % 3 if i % 4 else 0],
                propensity=None if i % 5 == 1 else round(rng.random(), 3),
                project_id=None if i % 2 else "p",
                kind=kind,
                source="signal" if i % 7 == 6 else "complete",
                supersedes=f"r{i - 1:03d}" if i % 7 == 6 else None,
                superseded_success=True if i % 7 == 6 else None,
                superseded_at=t0 + i - 1 if i % 7 == 6 else None,
            )
        )
    for i in range(0, 40, 3):
        for tag in ("ui", "beta")[: 1 + i % 2]:
            out.append(TraceTag(f"g{i:03d}{tag}", f"t{i:03d}", tag, t0 + 50 + i))
    outcomes = ("install_success", "install_failure", "used_in_session", "removed_by_user")
    for i in range(30):
        out.append(
            ComponentEvent(
                event_id=f"e{i:03d}",
                component_id=["plugin-a", "Plugin-B", "skill-c"][i % 3],
                outcome=outcomes[i % 4],
                timestamp=t0 + rng.random() * 1000,
                session_id=None if i % 5 == 0 else f"s{i // 4}",
            )
        )
    for i in range(60):
        caller = None if i % 6 == 0 else rng.choice([0.0, 0.25, 0.999, 1.0, rng.random()])
        out.append(
            ShadowObservation(
                id=f"o{i:03d}",
                memory_id=f"m{i}",
                namespace=["ns-a", "ns-b"][i % 2],
                source=["src-1", "src-2"][(i // 2) % 2],
                caller_confidence=caller,
                derived_confidence=rng.choice([0.0, 0.5, 1.0, rng.random()]),
                signals={"k": i},
                recall_outcome=None,
                observed_at=t0 + i,
                outcome=None if i % 5 == 0 else bool(i % 3),
            )
        )
    for i in range(16):
        out.append(
            ShadowDecision(
                id=f"d{i:03d}",
                point=["router", "judge"][i % 2],
                candidate=["a", "b", "c"][i % 3],
                live_choice=["x", "y"][i % 2],
                live_propensity=[0.5, 1.0, 0.25][i % 3],
                candidate_choice=["x", "y"][(i // 2) % 2],
                candidate_probability=(i % 5) / 4,
                decided_at=t0 + i,
                reward=None if i % 4 == 0 else round(rng.random(), 3),
            )
        )
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _rows_match(got: Sequence[tuple[Any, ...]], want: Sequence[tuple[Any, ...]]) -> bool:
    return len(got) == len(want) and all(
        len(g) == len(w) and all(_same(x, y) for x, y in zip(g, w, strict=True))
        for g, w in zip(got, want, strict=True)
    )


def _canonical(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # bools as ints (SQLite reads them back so), floats rounded for a stable sort
        return tuple(
            (0, "")
            if v is None
            else (1, round(float(v), 6))
            if isinstance(v, int | float)
            else (2, str(v))
            for v in row
        )

    return sorted(rows, key=key)


def test_every_registered_query_has_parameter_sets_here() -> None:
    names = {q.name for q in registered_queries()}
    assert names, "no query registered"
    assert names == set(PARAMS), f"missing: {names - set(PARAMS)}; stale: {set(PARAMS) - names}"


def _sketches_decoded(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # dashboard.cells joins the hours' sketch texts in no set order: what is defined is
    # the counts they decode to.
    at = 3 + STAT_NAMES.index("latency_sketch")
    return [
        (*r[:at], tuple(sorted(LatencySketch.decode_buckets(r[at]).items())), *r[at + 1 :])
        for r in rows
    ]


_NORMALIZE = {"dashboard.cells": _sketches_decoded}


@pytest.mark.parametrize("query", registered_queries(), ids=lambda q: q.name)
def test_query_answers_alike_on_every_store(store: Store, query: Query) -> None:
    reference = MemoryStore()
    for s in (reference, store):
        s.migrate(COMPONENT_MIGRATIONS + SHADOW_MIGRATIONS + FEEDBACK_MIGRATIONS)
        assert s.write(_records()) == len(_records())
    for params in PARAMS[query.name]:
        norm = _NORMALIZE.get(query.name, list)
        want = norm(reference.query(query, params))
        got = norm(store.query(query, params))
        streamed = norm(list(store.iter_query(query, params)))
        if query.ordered:
            assert _rows_match(got, want), (query.name, params, got[:3], want[:3])
        else:
            assert _rows_match(_canonical(got), _canonical(want)), (query.name, params)
        if query.ordered:
            assert _rows_match(streamed, got)
        else:
            assert _rows_match(_canonical(streamed), _canonical(got))
    if query.name == "inference.fold_rows":
        assert len(reference.query(query, ("inference", 0))) == 32


def test_sequence_parameters_expand_and_an_empty_one_matches_nothing(store: Store) -> None:
    store.migrate(COMPONENT_MIGRATIONS)
    store.write([r for r in _records() if isinstance(r, ComponentEvent)])
    q = component_queries.OUTCOME_ROWS
    both = store.query(q, (("install_success", "install_failure"),))
    assert {row[1] for row in both} == {"install_success", "install_failure"}
    assert store.query(q, ((),)) == []
    assert store.query(q, (frozenset({"removed_by_user"}),)) == store.query(
        q, (["removed_by_user"],)
    )


def test_a_query_name_is_registered_once() -> None:
    from outcomes.store import register_query

    first = registered_queries()[0]
    assert register_query(first) is first
    with pytest.raises(ValueError, match="already registered"):
        register_query(Query(first.name, "SELECT 1", lambda tables, params: []))


def test_dashboard_cells_over_every_hour_equal_the_all_time_cells(store: Store) -> None:
    # Receipts of each cell spread over many hours (late signals among them): merged in
    # the database, the hours must give back the all-time cell the writer keeps.
    from outcomes.inference._queries import ROLLUP_CELL_ROWS

    rng = random.Random(3)
    receipts = []
    for i in range(300):
        late = i % 9 == 8
        receipts.append(
            Receipt(
                receipt_id=f"h{i:04d}",
                trace_id=f"h{i - 1 if late else i:04d}",
                model_id=["m1", "m2"][(i - late) % 2],
                task="code",
                timestamp=_T0 + i * 1800.0 + (100 if late else 0),
                success=i % 4 != 0,
                quality=None if i % 3 else round(rng.random(), 3),
                latency_ms=float(rng.randint(0, 5000)),
                cost_usd=rng.random() / 100,
                project_id=None if i % 5 else "p",
                source="signal" if late else "complete",
                supersedes=f"h{i - 1:04d}" if late else None,
                superseded_success=False if late else None,
                superseded_at=_T0 + (i - 1) * 1800.0 if late else None,
            )
        )
    store.write(receipts)
    merged = {
        r[:3]: r[3:]
        for r in store.query(dashboard_queries.CELLS, dashboard_queries.cells_params(0, 2**62))
    }
    cells = {r[:3]: r[3:] for r in store.query(ROLLUP_CELL_ROWS, ())}
    assert set(merged) == set(cells)
    assert len(cells) == 4
    for key, want in cells.items():
        got = merged[key]
        for name, a, b in zip(STAT_NAMES, got, want, strict=True):
            if name == "latency_sketch":
                assert LatencySketch.decode_buckets(a) == LatencySketch.decode_buckets(b), key
            elif isinstance(b, float) or isinstance(a, float):
                assert a == pytest.approx(b, rel=1e-12), (key, name)
            else:
                assert a == b, (key, name)
