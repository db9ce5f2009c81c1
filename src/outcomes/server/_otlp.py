"""``POST /v1/traces``: an OTLP/HTTP trace receiver (protobuf and JSON).

Any OpenTelemetry-instrumented application exports to ``outcomes`` by pointing its
exporter here (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://host:8421/v1/traces``). Each
span is mapped by the same pure function as the in-process exporter
(:func:`outcomes.integrations._genai.genai_call`): spans that are not model calls are
skipped cheaply, and nothing but the mapped fields is read (prompt and completion
attributes, events other than an exception's type, and status messages are never
looked at). The answer is sent once the calls are committed; spans the tracker refuses
are counted in OTLP's ``partial_success.rejected_spans``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from outcomes import _validate
from outcomes.errors import ValidationError
from outcomes.inference import OutcomeTracker
from outcomes.integrations._genai import genai_call, record_genai, span_trace_id
from outcomes.server._errors import ApiError
from outcomes.server._limits import too_large
from outcomes.server._service import Service, service_of
from outcomes.server._writes import body_of

PROTOBUF = "application/x-protobuf"
STATUS_ERROR = 2


@dataclass(frozen=True, slots=True)
class Span:
    """What the mapping reads of one span, from either encoding."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, Any]
    start_ns: int
    end_ns: int
    error: bool
    exception_type: str | None


def _inflate(body: bytes, encoding: str, service: Service) -> bytes:
    """The body, gunzipped when sent so, never inflated past the body limit."""
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r} (gzip or none)")
    limit = service.limits.max_body_bytes
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, f"bad gzip body: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(service.limits)
    return out


def _any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` (protobuf message) as a Python scalar or list."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind in ("kvlist_value", "bytes_value"):
        return None  # never a field the mapping reads
    return getattr(value, kind)


def _protobuf_spans(body: bytes) -> Iterator[Span]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise ApiError(400, f"not an OTLP protobuf trace export: {exc}") from None
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for s in ss.spans:
                exception = next(
                    (_any_value(a.value) for e in s.events if e.name == "exception"
                     for a in e.attributes if a.key == "exception.type"), None,
                )  # fmt: skip
                yield Span(
                    s.trace_id.hex(), s.span_id.hex(),
                    {kv.key: _any_value(kv.value) for kv in s.attributes},
                    s.start_time_unix_nano, s.end_time_unix_nano,
                    s.status.code == STATUS_ERROR,
                    exception if isinstance(exception, str) else None,
                )  # fmt: skip


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind == "intValue":
        try:
            return int(inner)
        except (TypeError, ValueError):
            return None
    if kind == "arrayValue" and isinstance(inner, dict):
        return [_json_value(v) for v in inner.get("values", []) or []]
    if kind in ("stringValue", "boolValue", "doubleValue"):
        return inner
    return None


def _attrs(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {
        kv["key"]: _json_value(kv.get("value"))
        for kv in items
        if isinstance(kv, dict) and isinstance(kv.get("key"), str)
    }


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _json_spans(body: bytes) -> Iterator[Span]:
    try:
        data = _validate.decode(body, dict)
    except ValidationError as exc:
        raise ApiError(400, f"not an OTLP JSON trace export: {exc.reason}") from None
    for rs in _list(data, "resourceSpans"):
        for ss in _list(rs, "scopeSpans"):
            for s in _list(ss, "spans"):
                if isinstance(s, dict):
                    yield _json_span(s)


def _json_span(s: dict[str, Any]) -> Span:
    try:
        start, end = int(s.get("startTimeUnixNano", 0)), int(s.get("endTimeUnixNano", 0))
    except (TypeError, ValueError):
        start = end = 0
    status = s.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    exception = next(
        (
            _attrs(e.get("attributes")).get("exception.type")
            for e in _list(s, "events")
            if isinstance(e, dict) and e.get("name") == "exception"
        ),
        None,
    )
    return Span(
        str(s.get("traceId", "")),
        str(s.get("spanId", "")),
        _attrs(s.get("attributes")),
        start,
        end,
        code in (STATUS_ERROR, "STATUS_CODE_ERROR"),
        exception if isinstance(exception, str) else None,
    )


def _record(tracker: OutcomeTracker, service: Service, spans: Iterator[Span]) -> tuple[int, int]:
    """Record the model calls among ``spans``; returns (recorded, rejected)."""
    recorded = rejected = 0
    with service.apply_lock:
        for span in spans:
            call = genai_call(
                span.attributes, start_ns=span.start_ns, end_ns=span.end_ns,
                error_status=span.error, exception_type=span.exception_type,
            )  # fmt: skip
            if call is None:
                continue
            try:
                record_genai(tracker, call, span_trace_id(span.trace_id, span.span_id))
            except ValidationError:
                rejected += 1
                continue
            recorded += 1
    return recorded, rejected


async def post_traces(request: Request) -> Response:
    """``POST /v1/traces``: OTLP/HTTP spans (protobuf or JSON); GenAI spans become calls."""
    service = service_of(request)
    raw = await body_of(request, service)
    body = _inflate(raw, request.headers.get("content-encoding", "").strip().lower(), service)
    protobuf = request.headers.get("content-type", "").split(";")[0].strip() == PROTOBUF
    # Parse fully before recording: a malformed export records nothing.
    spans = list(_protobuf_spans(body) if protobuf else _json_spans(body))
    before = service.losses()
    recorded, rejected = await anyio.to_thread.run_sync(
        _record, service.tracker, service, iter(spans)
    )
    service.metrics.rejected.labels("traces").inc(rejected)
    await service.commit(before)
    service.metrics.accepted.labels("traces").inc(recorded)
    message = f"{rejected} GenAI spans refused (invalid values)" if rejected else ""
    if protobuf:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        answer = ExportTraceServiceResponse()
        if rejected:
            answer.partial_success.rejected_spans = rejected
            answer.partial_success.error_message = message
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    partial = {"partialSuccess": {"rejectedSpans": rejected, "errorMessage": message}}
    return Response(msgspec.json.encode(partial if rejected else {}), media_type="application/json")
