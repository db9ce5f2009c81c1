"""OpenTelemetry exporter: what recording a span costs, against making the span.

Measured in one run, per span:
- the SDK's own cost of a GenAI span (start, four attributes, end, into an in-memory
  exporter): the reference;
- ``OutcomesSpanExporter.export`` of finished GenAI spans into a tracker over SQLite
  (background writer), per span: the exporter runs on the span processor's thread, not
  the application's, but it is the added work per model call;
- the same exporter on spans that are not GenAI (an HTTP span): skipped after a few
  dictionary lookups.

No target is set by the issue for the exporter itself; the ratios say what it adds. The
model call a GenAI span stands for takes hundreds of milliseconds, so either number is far
below 2% of it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Context, per_call_samples_ns
from outcomes.inference import OutcomeTracker
from outcomes.store import SQLiteStore


def _spans(n: int, genai: bool) -> list[object]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for _ in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini" if genai else "GET /") as span:
            if genai:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                span.set_attribute("gen_ai.usage.input_tokens", 100)
                span.set_attribute("gen_ai.usage.output_tokens", 50)
            else:
                span.set_attribute("http.request.method", "GET")
                span.set_attribute("http.response.status_code", 200)
    provider.shutdown()
    return list(memory.get_finished_spans())


def _span_cost_ns(n: int) -> float:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")

    def one() -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.usage.input_tokens", 100)
            span.set_attribute("gen_ai.usage.output_tokens", 50)
        memory.clear()

    per_call_samples_ns(one, n=n // 5)  # warm up
    median = float(statistics.median(per_call_samples_ns(one, n=n)))
    provider.shutdown()
    return median


def _export_cost_ns(batches: list[list[object]], export: Callable[[list[object]], object]) -> float:
    """Median over batches of the export time per span."""
    per_span = []
    for batch in batches:
        t0 = time.perf_counter_ns()
        export(batch)
        per_span.append((time.perf_counter_ns() - t0) / len(batch))
    return float(statistics.median(per_span))


def run(ctx: Context) -> None:
    from outcomes.integrations.otel import OutcomesSpanExporter

    n, repeats = (500, 5) if ctx.quick else (2_000, 9)
    span_ns = _span_cost_ns(n * 2)
    genai = _spans(n * repeats, genai=True)
    other = _spans(n * repeats, genai=False)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        tracker = OutcomeTracker(store)
        exporter = OutcomesSpanExporter(tracker)
        export = exporter.export
        # Skipping first: the writer thread is idle then (after the GenAI export it
        # commits thousands of receipts, and would be timed with the skips).
        other_ns = _export_cost_ns(
            [other[i : i + n] for i in range(0, len(other), n)],
            export,  # type: ignore[arg-type]
        )
        genai_ns = _export_cost_ns(
            [genai[i : i + n] for i in range(0, len(genai), n)],
            export,  # type: ignore[arg-type]
        )
        assert exporter.recorded == len(genai)
        tracker.close()
        store.close()
    ref = "SDK GenAI span (start, 4 attributes, end)"
    ctx.report(
        "export one GenAI span (tracker over SQLite)", genai_ns, "ns/span",
        reference_name=ref, reference_value=span_ns,
        notes="on the span processor's thread; a model call takes 100s of ms",
    )  # fmt: skip
    ctx.report(
        "skip one non-GenAI span", other_ns, "ns/span",
        reference_name=ref, reference_value=span_ns,
        notes="a pass over the span's keys, no record",
    )  # fmt: skip
