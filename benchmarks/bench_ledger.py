"""Ledger line codec: msgspec (what the ledger uses) against pydantic v2 (the reference).

This is the measurement behind the choice of validation library (issue 13): decode and
validate one ledger line into a :class:`Receipt`, with the same constraints written as a
pydantic v2 model in strict mode (the model the ledger used before) followed by the same
id/label character rule, over the same lines in the same run. Also keyword construction
of a ``Receipt`` (the hot path builds one per completed call) and encoding one line.
Needs the ``bench`` extra (pydantic is only the reference here, not a dependency).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Annotated, Any

from benchmarks._harness import Context, median_ns
from outcomes import _validate
from outcomes.ledger._jsonl import decode_line, encode_line
from outcomes.records import Receipt


def _lines(n: int) -> list[bytes]:
    models = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b")
    out = []
    for i in range(n):
        r = Receipt(
            receipt_id=f"01a2068f-a3ba-72df-a86f-{i:012d}",
            trace_id=f"01a2068f-a3b9-7cb1-8418-{i:012d}",
            model_id=models[i % 4],
            task="code" if i % 3 else "generate",
            timestamp=1_790_000_000.0 + i * 0.01,
            success=i % 7 != 0,
            quality=None if i % 2 else 0.8,
            latency_ms=100.0 + i % 900,
            input_tokens=400 + i % 300,
            output_tokens=200 + i % 500,
            cost_usd=0.0012,
            routing_reason="router: thompson (code)",
            project_id="bench",
            source="signal" if i % 5 == 4 else "complete",
            supersedes=f"01a2068f-a3ba-72df-a86f-{i - 1:012d}" if i % 5 == 4 else None,
        )
        out.append(encode_line(r))
    return out


def _pydantic_decoder() -> Callable[[bytes], Receipt]:
    """The pydantic v2 line model with the constraints of :class:`Receipt` (strict mode)."""
    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    id_ = Annotated[str, StringConstraints(min_length=1, max_length=128)]
    label = Annotated[str, StringConstraints(min_length=1, max_length=256)]
    text = Annotated[str, StringConstraints(max_length=100_000)]
    ts = Annotated[float, Field(ge=_validate.TIMESTAMP_MIN, le=_validate.TIMESTAMP_MAX)]
    prob = Annotated[float, Field(ge=0.0, le=1.0)]
    nonneg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    count = Annotated[int, Field(ge=0, le=_validate.MAX_INT64)]
    task = Annotated[str, StringConstraints(min_length=1, max_length=64)]

    class Line(BaseModel):
        model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

        v: int = 1
        receipt_id: id_
        trace_id: id_
        model_id: label
        task: task
        timestamp: ts
        success: bool | None = None
        quality: prob | None = None
        latency_ms: nonneg = 0.0
        input_tokens: count = 0
        output_tokens: count = 0
        cost_usd: nonneg | None = None
        error: text | None = None
        routing_reason: text = ""
        project_id: label | None = None
        intent: label | None = None
        kind: label = "inference"
        source: label = "complete"
        supersedes: id_ | None = None
        signal_id: id_ | None = None
        propensity: prob | None = None
        superseded_success: bool | None = None
        superseded_quality: prob | None = None
        superseded_at: ts | None = None

    validate = Line.model_validate_json

    def decode(line: bytes) -> Receipt:
        values: dict[str, Any] = validate(line).model_dump(exclude={"v"})
        receipt = Receipt(**values)
        # The same character rule for ids and labels, with the same fast path.
        return _validate.finish(receipt, plain_ascii=_validate.plain_ascii(line))

    return decode


def _per_line_ns(decode: Callable[[bytes], Receipt], lines: list[bytes]) -> float:
    """Median over 5 passes of the mean time per line."""
    samples = []
    for _ in range(5):
        start = time.perf_counter_ns()
        for line in lines:
            decode(line)
        samples.append((time.perf_counter_ns() - start) / len(lines))
    return statistics.median(samples)


def run(ctx: Context) -> None:
    n = 10_000 if ctx.quick else 100_000
    lines = _lines(n)
    pydantic_decode = _pydantic_decoder()
    assert pydantic_decode(lines[4]) == decode_line(lines[4])
    # Alternate the two so a busy spell of the shared machine hits both alike.
    ours, theirs = [], []
    for _ in range(3):
        ours.append(_per_line_ns(decode_line, lines))
        theirs.append(_per_line_ns(pydantic_decode, lines))
    ours_us, theirs_us = min(ours) / 1000, min(theirs) / 1000
    ctx.report(
        f"decode + validate one ledger line ({n:,} lines)",
        ours_us,
        "us",
        reference_name="pydantic v2 strict model, same constraints",
        reference_value=theirs_us,
        target="faster than the reference",
        passed=ours_us < theirs_us,
        notes=f"{theirs_us / ours_us:.1f}x faster",
    )
    sample = decode_line(lines[4])
    build_ns = median_ns(
        lambda: Receipt(
            receipt_id="t",
            trace_id="t",
            model_id="gpt-4o-mini",
            task="generate",
            timestamp=1_790_000_000.0,
            success=True,
            latency_ms=120.0,
            input_tokens=100,
            output_tokens=50,
            cost_usd=0.001,
            routing_reason="router: default",
        ),
        number=20_000,
    )
    ctx.report("Receipt(...) keyword construction", build_ns, "ns")
    encode_ns = median_ns(lambda: encode_line(sample), number=20_000)
    ctx.report("encode one ledger line", encode_ns, "ns")
