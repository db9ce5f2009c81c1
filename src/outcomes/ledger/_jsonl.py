"""JSON lines in and out of the ledger, tolerant of torn and garbage lines on the way in."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from outcomes._safejson import bounded_lines
from outcomes.errors import ValidationError
from outcomes.records import LEDGER_FORMAT_VERSION, Receipt, validate_task
from outcomes.store import Store

IMPORT_BATCH = 5_000
MAX_LINE_BYTES = 1 << 20
"""Lines longer than this are rejected unread (a receipt line is a few hundred bytes)."""
MAX_REPORTED_PROBLEMS = 50

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
_Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROL)]
_Label = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NO_CONTROL)]
_Text = Annotated[str, StringConstraints(max_length=100_000)]
_Finite = Annotated[float, Field(allow_inf_nan=False)]


class _ReceiptLine(BaseModel):
    """Validation model of one ledger line (see docs/ledger.md)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    v: int = LEDGER_FORMAT_VERSION
    receipt_id: _Id
    trace_id: _Id
    model_id: _Label
    task: _Label
    timestamp: _Finite
    success: bool | None = None
    quality: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    latency_ms: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    input_tokens: Annotated[int, Field(ge=0, le=2**53)] = 0
    output_tokens: Annotated[int, Field(ge=0, le=2**53)] = 0
    cost_usd: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    error: _Text | None = None
    routing_reason: _Text = ""
    project_id: _Label | None = None
    intent: _Label | None = None
    kind: _Label = "inference"
    source: _Label = "import"
    supersedes: _Id | None = None
    signal_id: _Id | None = None
    propensity: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    superseded_success: bool | None = None
    superseded_quality: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    superseded_at: _Finite | None = None


def _reject_constants(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_receipt(data: Any, *, where: str | None = None) -> Receipt:
    """Validate one decoded ledger object and build its :class:`Receipt`.

    Raises :class:`~outcomes.errors.ValidationError` naming the first bad field.
    """
    if not isinstance(data, dict):
        raise ValidationError(f"expected a JSON object, got {type(data).__name__}", where=where)
    version = data.get("v", LEDGER_FORMAT_VERSION)
    if version != LEDGER_FORMAT_VERSION:
        raise ValidationError(
            f"unsupported ledger format version {version!r} (this version reads "
            f"{LEDGER_FORMAT_VERSION})",
            where=where,
        )
    try:
        line = _ReceiptLine.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "line"
        raise ValidationError(f"field {loc!r}: {first['msg']}", where=where) from None
    try:
        validate_task(line.task)
    except ValueError as exc:
        raise ValidationError(str(exc), where=where) from None
    values = line.model_dump(exclude={"v"})
    return Receipt(**values)


@dataclass
class LineProblem:
    """A line that was skipped, and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: counts, and the first problems (line numbers are 1-based)."""

    lines: int = 0
    imported: int = 0
    duplicates: int = 0
    invalid: int = 0
    torn_last_line: bool = False
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.invalid + (1 if self.torn_last_line else 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "torn_last_line": self.torn_last_line,
            "problems": [{"line": p.line, "reason": p.reason} for p in self.problems],
        }


def import_jsonl(
    store: Store,
    stream: IO[bytes],
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import receipts from a JSON-lines byte stream into ``store``.

    Every good line is imported; a torn last line (no newline and not parseable) and any
    garbage line (invalid UTF-8, invalid JSON, a receipt that fails validation) are
    skipped and reported. Receipt ids are idempotency keys: importing a file twice adds
    nothing the second time. Store errors propagate (what was committed stays committed).
    """
    report = ImportReport()
    batch: list[Receipt] = []

    def flush() -> None:
        if batch:
            inserted = store.write(batch)
            report.imported += inserted
            report.duplicates += len(batch) - inserted
            if on_progress is not None:
                on_progress(len(batch))
            batch.clear()

    def problem(number: int, reason: str) -> None:
        report.invalid += 1
        if len(report.problems) < MAX_REPORTED_PROBLEMS:
            report.problems.append(LineProblem(number, reason))

    pending_last: tuple[int, str] | None = None
    for number, raw, ended in bounded_lines(stream, MAX_LINE_BYTES):
        report.lines = number
        if pending_last is not None:  # a line without newline that was not the last
            problem(*pending_last)
            pending_last = None
        if raw is None:
            problem(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem(number, f"invalid UTF-8 at byte {exc.start}")
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text, parse_constant=_reject_constants)
        except (ValueError, RecursionError) as exc:
            if not ended:
                pending_last = (number, f"invalid JSON: {exc}")
            else:
                problem(number, f"invalid JSON: {exc}")
            continue
        try:
            receipt = parse_receipt(data)
        except ValidationError as exc:
            problem(number, exc.reason)
            continue
        batch.append(receipt)
        if len(batch) >= batch_size:
            flush()
    if pending_last is not None:
        report.torn_last_line = True
        if len(report.problems) < MAX_REPORTED_PROBLEMS:
            report.problems.append(LineProblem(pending_last[0], "torn last line (skipped)"))
    flush()
    return report


def _dumps(receipt: Receipt) -> str:
    return json.dumps(receipt.to_json(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def export_jsonl(
    store: Store,
    out: IO[str],
    *,
    since: float | None = None,
    until: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write receipts (oldest first, optionally from ``since``) as JSON lines; returns the count."""
    where: list[Any] = []
    if since is not None:
        where.append(("timestamp", ">=", since))
    if until is not None:
        where.append(("timestamp", "<", until))
    count = 0
    chunk: list[str] = []
    for receipt in store.scan(Receipt.__table__, where=where):
        chunk.append(_dumps(receipt))
        count += 1
        if len(chunk) >= 1_000:
            out.write("\n".join(chunk) + "\n")
            chunk.clear()
            if on_progress is not None:
                on_progress(1_000)
    if chunk:
        out.write("\n".join(chunk) + "\n")
        if on_progress is not None:
            on_progress(len(chunk))
    return count


def receipts_from_lines(lines: Iterable[str]) -> Iterator[Receipt]:
    """Parse ledger lines strictly (raises on the first bad one); for tests and tools."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            data = json.loads(line)
            yield parse_receipt(data, where=f"line {number}")


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
