"""Conversions from the older tools' formats (see :mod:`outcomes.legacy`)."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from outcomes._files import atomic_write
from outcomes._ids import derived_id
from outcomes._redact import redact
from outcomes._safejson import bounded_lines, load_file, loads
from outcomes.components._files import parse_event
from outcomes.components._records import ComponentEvent, OutcomeType
from outcomes.errors import ImportFormatError, OutcomesError, ValidationError
from outcomes.inference._files import state_file_text
from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, OutcomeStats, ProfileState
from outcomes.ledger import parse_receipt
from outcomes.legacy._detect import (
    LegacyFormat,
    detect_format,
    is_legacy_components,
    is_legacy_ledger_line,
    is_legacy_profiles,
)
from outcomes.records import Receipt
from outcomes.stats._sketch import LatencySketch
from outcomes.store import Store

MAX_FILE_BYTES = 1 << 30
MAX_LINE_BYTES = 1 << 20
MAX_SYNTHESIZED_EVENTS = 1_000_000
"""Component counters beyond their recent events become events, up to this many per file
(a hostile counter of 10^18 must not make us write 10^18 rows)."""
BATCH = 5_000
MAX_PROBLEMS = 50
LEGACY_TASK = "legacy"
"""Task of the calls a profile counted in total but in no task (the per-task numbers of a
consistent file add up, so this cell is usually absent)."""


@dataclass
class LegacyReport:
    """What an import of a legacy file did."""

    format: LegacyFormat
    items: int = 0
    imported: int = 0
    duplicates: int = 0
    invalid: int = 0
    written_to: str | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)

    def problem(self, where: int, reason: str) -> None:
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            # A reason may quote the offending value: never echo a secret back.
            self.problems.append((where, redact(reason)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "items": self.items,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "written_to": self.written_to,
            "problems": [{"item": n, "reason": r} for n, r in self.problems],
        }


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValidationError(f"{where} must be a count, got {type(value).__name__}")
    return value


def _number(value: Any, where: str, default: float = 0.0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{where} must be a finite number")
    return float(value)


def _cell(calls: int, ok: int, bad: int, latency_ms: float, last_at: float) -> OutcomeStats:
    stats = OutcomeStats.from_json(
        {
            "calls": calls,
            "successes": ok,
            "failures": bad,
            "inconclusive": max(calls - ok - bad, 0),
            "latency": LatencySketch().to_json(),
            "latency_ms_total": latency_ms,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "costed_calls": 0,
            "quality_n": 0,
            "quality_sum": 0.0,
            "decay": [None, None, None, None],
            "last_at": last_at,
        }
    )
    return stats


def profiles_from_legacy(doc: Any, *, half_life: float = DEFAULT_HALF_LIFE_S) -> ProfileState:
    """Convert the older tool's profile array to a :class:`ProfileState`.

    Per task: calls, successes, failures, mean latency and the EMA quality carry over;
    the model's token totals are shared out over its tasks by calls. Latency histograms
    and decayed quality cannot be rebuilt from aggregates and start empty; decayed
    counts age from the profile's ``updated_at``.
    """
    if not is_legacy_profiles(doc):
        raise ImportFormatError("not a legacy model-profile array")
    state = ProfileState(half_life=half_life)
    for i, p in enumerate(doc):
        where = f"[{i}]"
        model = p.get("model_id")
        if not isinstance(model, str) or not model:
            raise ValidationError("model_id must be a non-empty string", where=where)
        updated = _number(p.get("updated_at"), f"{where}.updated_at")
        tasks = p.get("task_stats") or {}
        if not isinstance(tasks, dict):
            raise ValidationError("task_stats must be an object", where=where)
        cells: dict[str, OutcomeStats] = {}
        for task, t in tasks.items():
            if not isinstance(t, dict):
                raise ValidationError("a task's stats must be an object", where=f"{where}.{task}")
            calls = _count(t.get("calls", 0), f"{where}.{task}.calls")
            cells[str(task)] = _cell(
                calls,
                _count(t.get("successes", 0), f"{where}.{task}.successes"),
                _count(t.get("failures", 0), f"{where}.{task}.failures"),
                _number(t.get("avg_latency_ms"), f"{where}.{task}.avg_latency_ms") * calls,
                updated,
            )
            state.task_ema[(model, str(task))] = _number(t.get("ema_quality"), "ema", 0.5)
        _add_model_rest(p, cells, updated, where)
        _share_tokens(p, cells, where)
        for task, stats in cells.items():
            state.parts[(model, task, None)] = stats
        state.ema[model] = _number(p.get("ema_quality"), f"{where}.ema_quality", 0.5)
    return state


def _add_model_rest(
    p: dict[str, Any], cells: dict[str, OutcomeStats], at: float, where: str
) -> None:
    total = _count(p.get("total_calls", 0), f"{where}.total_calls")
    ok = _count(p.get("success_count", 0), f"{where}.success_count")
    bad = _count(p.get("fail_count", 0), f"{where}.fail_count")
    rest = (
        total - sum(c.calls for c in cells.values()),
        ok - sum(c.successes for c in cells.values()),
        bad - sum(c.failures for c in cells.values()),
    )
    if any(n > 0 for n in rest):
        latency = _number(p.get("total_latency_ms"), f"{where}.total_latency_ms")
        latency -= sum(c.latency_ms_total for c in cells.values())
        calls, successes, failures = (max(n, 0) for n in rest)
        cells[LEGACY_TASK] = _cell(calls, successes, failures, max(latency, 0.0), at)


def _share_tokens(p: dict[str, Any], cells: dict[str, OutcomeStats], where: str) -> None:
    if not cells:
        return
    calls = sum(c.calls for c in cells.values()) or len(cells)
    ordered = sorted(cells.values(), key=lambda c: -c.calls)
    for name in ("input_tokens", "output_tokens"):
        total = _count(p.get(f"total_{name}", 0), f"{where}.total_{name}")
        given = 0
        for stats in ordered[1:]:
            share = total * (stats.calls or 1) // calls
            setattr(stats, name, share)
            given += share
        setattr(ordered[0], name, total - given)


def receipts_from_legacy_lines(
    lines: Iterable[tuple[int, bytes | None, bool]], report: LegacyReport
) -> Iterator[Receipt]:
    """Receipts of the older tool's ledger lines; bad lines go to ``report``."""
    for number, raw, _ in lines:
        report.items = number
        if raw is None:
            report.problem(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
            if not is_legacy_ledger_line(obj):
                raise ValidationError("not a line of the older ledger (trace_id, model_id...)")
            yield _receipt_of(obj)
        except OutcomesError as exc:
            report.problem(number, str(exc))


def _receipt_of(obj: dict[str, Any]) -> Receipt:
    key = [str(obj.get(k)) for k in ("trace_id", "model_id", "task", "timestamp", "success")]
    data = {
        **{k: v for k, v in obj.items() if v is not None},
        "receipt_id": derived_id("legacy-ledger", *key),
        "source": "legacy",
        "kind": "inference",
    }
    for name in ("latency_ms", "timestamp"):
        if isinstance(data.get(name), int) and not isinstance(data.get(name), bool):
            data[name] = float(data[name])
    return parse_receipt(data)


def components_from_legacy(doc: Any, report: LegacyReport) -> list[ComponentEvent]:
    """Events of the component tracker's file: its recent events, then the outcomes its
    counters hold beyond them, at the times the counters give."""
    if not is_legacy_components(doc):
        raise ImportFormatError("not a legacy component tracker file")
    events: list[ComponentEvent] = []
    seen: Counter[tuple[str, str]] = Counter()
    for i, item in enumerate(doc.get("recent_events") or []):
        report.items += 1
        try:
            if not isinstance(item, dict):
                raise ValidationError("must be an object")
            at = _time(item.get("timestamp"), f"recent_events[{i}].timestamp")
            cid, outcome = item.get("component_id"), item.get("outcome_type")
            event = parse_event(
                {
                    "event_id": derived_id("legacy-component", str(cid), str(outcome), str(i)),
                    "component_id": cid,
                    "outcome": outcome,
                    "timestamp": at,
                    "context": item.get("context") or "",
                },
                where=f"recent_events[{i}]",
            )
        except OutcomesError as exc:
            report.problem(i, str(exc))
            continue
        seen[(event.component_id, event.outcome)] += 1
        events.append(event)
    events.extend(_beyond_recent(doc["outcomes"], seen, report))
    return events


_COUNTERS = (
    ("install_successes", OutcomeType.INSTALL_SUCCESS, "last_success"),
    ("install_failures", OutcomeType.INSTALL_FAILURE, "last_failure"),
    ("usage_count", OutcomeType.USED_IN_SESSION, "first_seen"),
    ("removal_count", OutcomeType.REMOVED_BY_USER, "first_seen"),
)


def _beyond_recent(
    outcomes: dict[str, Any], seen: Counter[tuple[str, str]], report: LegacyReport
) -> Iterator[ComponentEvent]:
    made = 0
    for cid, stats in outcomes.items():
        report.items += 1
        if not isinstance(stats, dict):
            report.problem(report.items, f"outcomes[{cid!r}] must be an object")
            continue
        for counter, outcome, time_field in _COUNTERS:
            try:
                total = _count(stats.get(counter, 0), f"{cid}.{counter}")
                extra = total - seen[(cid, outcome.value)]
                if extra <= 0:
                    continue
                made += extra
                if made > MAX_SYNTHESIZED_EVENTS:
                    raise ImportFormatError(
                        f"the counters hold more than {MAX_SYNTHESIZED_EVENTS} events beyond "
                        "the recent ones; refusing to expand them"
                    )
                at = _time(stats.get(time_field) or stats.get("first_seen"), f"{cid}.{time_field}")
                for n in range(extra):
                    yield parse_event(
                        {
                            "event_id": derived_id("legacy-counter", cid, outcome.value, str(n)),
                            "component_id": cid,
                            "outcome": outcome.value,
                            "timestamp": at,
                        }
                    )
            except ImportFormatError:
                raise
            except OutcomesError as exc:
                report.problem(report.items, str(exc))


def _time(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be an ISO time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{where} must be an ISO time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _write_batches(store: Store, records: Iterable[Any], report: LegacyReport) -> None:
    batch: list[Any] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            _flush(store, batch, report)
    _flush(store, batch, report)


def _flush(store: Store, batch: list[Any], report: LegacyReport) -> None:
    if batch:
        inserted = store.write(batch)
        report.imported += inserted
        report.duplicates += len(batch) - inserted
        batch.clear()


def import_legacy(
    path: str | os.PathLike[str],
    *,
    store: Store | None = None,
    out: str | os.PathLike[str] | None = None,
) -> LegacyReport:
    """Recognise ``path``'s format and import it.

    A ledger or a component file goes into ``store`` (receipts are written directly and
    synchronously: nothing is dropped; importing twice adds nothing). A profile file is
    converted to ``out`` (default ``<path>.outcomes.json`` beside it), a file for
    :meth:`OutcomeTracker.load_from_file`. Raises :class:`ImportFormatError` for a file
    of no known format.
    """
    source = Path(path)
    kind = detect_format(source)
    report = LegacyReport(kind)
    if kind is LegacyFormat.PROFILES:
        state = profiles_from_legacy(load_file(source, max_bytes=MAX_FILE_BYTES))
        target = Path(out) if out is not None else source.with_name(source.name + ".outcomes.json")
        atomic_write(target, state_file_text(state))
        report.items = report.imported = len(state.model_ids())
        report.written_to = str(target)
        return report
    if store is None:
        raise ValueError(f"importing a legacy {kind.value} file needs a store")
    if kind is LegacyFormat.LEDGER:
        with open(source, "rb") as fh:
            _write_batches(store, _legacy_lines(fh, report), report)
        return report
    from outcomes.components._schema import MIGRATIONS

    store.migrate(MIGRATIONS)
    doc = load_file(source, max_bytes=MAX_FILE_BYTES)
    _write_batches(store, components_from_legacy(doc, report), report)
    return report


def _legacy_lines(stream: IO[bytes], report: LegacyReport) -> Iterator[Receipt]:
    return receipts_from_legacy_lines(bounded_lines(stream, MAX_LINE_BYTES), report)
