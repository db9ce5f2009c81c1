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
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from benchmarks._harness import Context, median_ns
from benchmarks.bench_store import _receipts
from outcomes import _validate
from outcomes.ledger._jsonl import decode_line, encode_line
from outcomes.records import Receipt


def _lines(n: int) -> list[bytes]:
    return [encode_line(r) for r in _receipts(n)]


def _pydantic_type(annotation: Any) -> Any:
    """The pydantic form of a msgspec field type: the same bounds and lengths."""
    from pydantic import Field

    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metas = get_args(annotation)
        bounds: dict[str, Any] = {}
        for meta in metas:
            for name in ("ge", "le", "min_length", "max_length"):
                if getattr(meta, name, None) is not None:
                    bounds[name] = getattr(meta, name)
        return Annotated[base, Field(**bounds)]
    if origin in (Union, UnionType):
        args = [_pydantic_type(a) for a in get_args(annotation)]
        return Union[tuple(args)]  # noqa: UP007 - built from a runtime list
    return annotation


def _pydantic_decoder() -> Callable[[bytes], Receipt]:
    """A pydantic v2 model (strict, like the ledger's former model) with the fields and
    constraints of :class:`Receipt`, generated from its declaration."""
    from pydantic import ConfigDict, create_model

    fields: dict[str, Any] = {"v": (int, 1)}
    for f in msgspec.structs.fields(Receipt):
        default = ... if f.default is msgspec.NODEFAULT else f.default
        fields[f.name] = (_pydantic_type(f.type), default)
    config = ConfigDict(extra="ignore", strict=True, frozen=True)
    line = create_model("Line", __config__=config, **fields)
    validate = line.model_validate_json

    def decode(data: bytes) -> Receipt:
        values: dict[str, Any] = validate(data).model_dump(exclude={"v"})
        receipt = Receipt(**values)
        # The same character rule for ids and labels, with the same fast path.
        return _validate.finish(receipt, plain_ascii=_validate.plain_ascii(data))

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
