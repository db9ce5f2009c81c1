"""OpenTelemetry: record the GenAI spans an application already emits (``[otel]``).

::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from outcomes.integrations.otel import OutcomesSpanExporter

    provider.add_span_processor(BatchSpanProcessor(OutcomesSpanExporter(tracker)))

Every model-call span (OpenTelemetry GenAI conventions, OpenLLMetry, OpenInference; see
:mod:`outcomes.integrations._genai`) becomes one call: model, task, tokens, latency, cost,
error. Other spans are skipped after a few dictionary lookups. Prompt and completion
attributes, span events and status descriptions are never read into a record. The call's
trace id is :func:`trace_id_of_span` of the span, which is what
:meth:`~outcomes.OutcomeTracker.feedback` takes later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Span, StatusCode

from outcomes.inference import OutcomeTracker
from outcomes.integrations._default import resolve_tracker
from outcomes.integrations._genai import genai_call, is_genai, record_genai, span_trace_id

log = logging.getLogger("outcomes.integrations")


def trace_id_of_span(span: Span | ReadableSpan) -> str:
    """The outcomes trace id of a span (``otel-<trace id>-<span id>``): pass it to
    ``tracker.feedback`` for the call the span recorded."""
    ctx = span.get_span_context()
    if ctx is None:
        raise ValueError("the span has no context")
    return span_trace_id(ctx.trace_id, ctx.span_id)


def _exception_type(span: ReadableSpan) -> str | None:
    for event in span.events:
        if event.name == "exception" and event.attributes:
            value = event.attributes.get("exception.type")
            if isinstance(value, str):
                return value
    return None


class OutcomesSpanExporter(SpanExporter):
    """A :class:`SpanExporter` that records GenAI spans as calls of ``tracker`` (default:
    :func:`outcomes.integrations.default_tracker`).

    ``task`` names the task of chat and completion spans (default ``generate``; a span's
    own ``outcomes.task`` attribute wins), ``project_id`` their project (a span's
    ``outcomes.project_id`` wins). Export never raises and always reports success: a span
    the tracker refuses is logged by the tracker, never retried.
    """

    def __init__(
        self,
        tracker: OutcomeTracker | None = None,
        *,
        task: str | None = None,
        project_id: str | None = None,
    ) -> None:
        self.tracker = resolve_tracker(tracker)
        self.task = task
        self.project_id = project_id
        self.recorded = 0
        """Calls recorded so far (for tests and diagnostics)."""
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        for span in spans:
            attributes: Any = span.attributes
            if not attributes or not is_genai(attributes):
                continue
            try:
                # A plain dict once: the SDK's attribute mapping pays a raised KeyError
                # for every missing key the mapping looks up.
                self._record(span, dict(attributes))
            except Exception as exc:  # never into the application's export thread
                log.warning("outcomes: a GenAI span was not recorded: %r", type(exc).__name__)
        return SpanExportResult.SUCCESS

    def _record(self, span: ReadableSpan, attributes: Any) -> None:
        ctx = span.context
        if ctx is None or span.start_time is None or span.end_time is None:
            return
        call = genai_call(
            attributes,
            start_ns=span.start_time,
            end_ns=span.end_time,
            error_status=span.status.status_code is StatusCode.ERROR,
            exception_type=_exception_type(span),
            default_task=self.task,
            default_project=self.project_id,
        )
        if call is None:
            return
        record_genai(self.tracker, call, span_trace_id(ctx.trace_id, ctx.span_id))
        self.recorded += 1

    def shutdown(self) -> None:
        """Flush what was recorded (the tracker stays open: it may not be ours)."""
        if not self._shutdown:
            self._shutdown = True
            self.tracker.flush()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.tracker.flush(timeout_millis / 1000.0))


__all__ = ["OutcomesSpanExporter", "trace_id_of_span"]
