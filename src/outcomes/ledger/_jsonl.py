"""JSON lines in and out of the ledger, tolerant of torn and garbage lines on the way in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from outcomes import _validate
from outcomes._safejson import bounded_lines
from outcomes.errors import ValidationError
from outcomes.ledger._queries import EXPORT_ROWS
from outcomes.records import LEDGER_FORMAT_VERSION, Receipt
from outcomes.store import Store

IMPORT_BATCH = 5_000
MAX_LINE_BYTES = 1 << 20
"""Lines longer than this are rejected unread (a receipt line is a few hundred bytes)."""
MAX_REPORTED_PROBLEMS = 50

_encode = _validate.encode
_BOUND = 1e300
"""Open time bounds of an export (every stored timestamp is far inside them)."""
_Plain = msgspec.defstruct(
    "Receipt",
    [
        (f.name, Any) if f.default is msgspec.NODEFAULT else (f.name, Any, f.default)
        for f in msgspec.structs.fields(Receipt)
    ],
    tag_field="v",
    tag=LEDGER_FORMAT_VERSION,
    frozen=True,
    gc=False,
)
"""The receipt's fields, tag and order without its constraints or construction-time
scrub: what ``export_jsonl`` encodes stored rows with."""
_BOOL_IDX = tuple(i for i, c in enumerate(Receipt.__table__.columns) if c.type == "bool")


def _explain(exc: ValidationError) -> ValidationError:
    """Say what a failure of the ``"v"`` tag means for a ledger line."""
    if exc.where == "v":
        return ValidationError(
            f"unsupported ledger format version ({exc.reason}; this version reads "
            f"{LEDGER_FORMAT_VERSION})",
            where="v",
        )
    return exc


def decode_line(line: bytes | str) -> Receipt:
    """Decode and validate one ledger line (JSON text) into a :class:`Receipt`.

    Raises :class:`~outcomes.errors.ValidationError` naming the first bad field.
    """
    try:
        return _validate.decode(line, Receipt)
    except ValidationError as exc:
        raise _explain(exc) from None


def parse_receipt(data: Any, *, where: str | None = None) -> Receipt:
    """Validate one decoded ledger object (a dict) and build its :class:`Receipt`.

    Raises :class:`~outcomes.errors.ValidationError` naming the first bad field.
    """
    if not isinstance(data, dict):
        raise ValidationError(f"expected a JSON object, got {type(data).__name__}", where=where)
    try:
        return _validate.convert(data, Receipt)
    except ValidationError as exc:
        explained = _explain(exc)
        full = ".".join(p for p in (where, explained.where) if p) or None
        raise ValidationError(explained.reason, where=full) from None


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
        if not raw.strip():
            continue
        try:
            receipt = decode_line(raw)
        except ValidationError as exc:
            if not ended and exc.reason.startswith("invalid JSON"):
                pending_last = (number, str(exc))
            else:
                problem(number, str(exc))
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


def encode_line(receipt: Receipt) -> bytes:
    """The ledger line of ``receipt`` (JSON, no newline): ``"v"`` first, then every field."""
    return _encode(receipt)


def export_jsonl(
    store: Store,
    out: IO[str],
    *,
    since: float | None = None,
    until: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write receipts (oldest first, optionally from ``since``) as JSON lines; returns the count.

    Lines are encoded straight from the stored rows (the same bytes as
    :func:`encode_line` of the receipt): stored text was scrubbed when it was written.
    """
    low = -_BOUND if since is None else since
    high = _BOUND if until is None else until
    count = 0
    chunk: list[bytes] = []
    encode = _encode
    plain = _Plain
    flags = _BOOL_IDX
    for row in store.iter_query(EXPORT_ROWS, (low, high)):
        values = list(row)
        for i in flags:
            if values[i] is not None:
                values[i] = bool(values[i])
        chunk.append(encode(plain(*values)))
        count += 1
        if len(chunk) >= 1_000:
            out.write(b"\n".join(chunk).decode("utf-8") + "\n")
            chunk.clear()
            if on_progress is not None:
                on_progress(1_000)
    if chunk:
        out.write(b"\n".join(chunk).decode("utf-8") + "\n")
        if on_progress is not None:
            on_progress(len(chunk))
    return count


def receipts_from_lines(lines: Iterable[str]) -> Iterator[Receipt]:
    """Parse ledger lines strictly (raises on the first bad one); for tests and tools."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield decode_line(line)
            except ValidationError as exc:
                where = f"line {number}" + (f".{exc.where}" if exc.where else "")
                raise ValidationError(exc.reason, where=where) from None
