"""The API's operations, declared once: the router and ``/openapi.json`` both read them.

Each :class:`Operation` names its path, method, handler, the msgspec type its body is
decoded into (whose JSON Schema the document publishes, so the schema is what the
validator enforces) and an example body. A test posts every example to a server and
checks it against the published schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from outcomes import __version__
from outcomes.inference._ingest import Event, FeedbackEvent
from outcomes.server import _ops, _otlp, _reads, _wings, _writes
from outcomes.server._errors import CODES

REF = "#/components/schemas/{name}"


@dataclass(frozen=True, slots=True)
class Operation:
    path: str
    method: str
    endpoint: Callable[..., Any]
    body: Any = None
    """The type a JSON body is decoded into (a list: a JSON array or NDJSON of items)."""
    example: Any = None
    answer: str = "WriteReport"
    """The schema of a 200 answer (a name in the components), or "" for free-form."""
    open: bool = False
    """Answered without the token."""


async def openapi(request: Request) -> Response:
    """The OpenAPI document of this service."""
    document: bytes = request.app.state.openapi
    return Response(document, media_type="application/json")


_COMPLETE = {
    "event": "complete",
    "trace_id": "req-81f2",
    "model_id": "gpt-4o-mini",
    "task": "code",
    "latency_ms": 840,
    "input_tokens": 900,
    "output_tokens": 310,
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("/healthz", "GET", _ops.healthz, answer="", open=True),
    Operation("/readyz", "GET", _ops.readyz, answer=""),
    Operation("/metrics", "GET", _ops.metrics, answer=""),
    Operation("/openapi.json", "GET", openapi, answer=""),
    Operation(
        "/v1/events",
        "POST",
        _writes.post_events,
        list[Event],
        [
            _COMPLETE,
            {
                "event": "signal",
                "trace_id": "req-81f2",
                "signal_id": "turn-42",
                "kind": "conversation",
                "verdict": "accepted",
                "confidence": 0.9,
            },
        ],
    ),
    Operation(
        "/v1/feedback",
        "POST",
        _writes.post_feedback,
        list[FeedbackEvent],
        [
            {
                "event": "feedback",
                "trace_id": "req-81f2",
                "thumbs": True,
                "tags": ["beta"],
                "signal_id": "fb-1",
            },
            {"event": "feedback", "trace_id": "req-81f2", "score": 4, "score_range": [1, 5]},
        ],
    ),
    Operation("/v1/models", "GET", _reads.list_models, answer=""),
    Operation("/v1/models/{model_id}", "GET", _reads.get_model, answer=""),
    Operation(
        "/v1/route",
        "POST",
        _reads.post_route,
        _reads.RouteRequest,
        {"task": "code", "candidates": ["gpt-4o", "gpt-4o-mini"], "max_cost_usd": 0.05},
        answer="",
    ),
    Operation(
        "/v1/components/events",
        "POST",
        _wings.post_component_events,
        list[_wings.ComponentEventIn],
        [
            {
                "component_id": "plugin-a",
                "outcome": "install_failure",
                "context": "exit 1",
                "session_id": "s-1",
            }
        ],
    ),
    Operation("/v1/components", "GET", _wings.get_components, answer=""),
    Operation(
        "/v1/shadow/observations",
        "POST",
        _wings.post_observations,
        list[_wings.ObservationIn],
        [
            {
                "memory_id": "m-1",
                "namespace": "notes",
                "source": "user",
                "caller_confidence": 0.9,
                "signals": {"source_age_days": 3.0},
            }
        ],
    ),
    Operation(
        "/v1/shadow/labels",
        "POST",
        _wings.post_labels,
        list[_wings.LabelIn],
        [{"observation_id": "01a2-unknown", "outcome": True}],
    ),
    Operation("/v1/shadow/report", "GET", _wings.shadow_report, answer=""),
    Operation(
        "/v1/trajectories",
        "POST",
        _wings.post_trajectory,
        _wings.TrajectoryIn,
        {
            "run_id": "run-1",
            "pipeline": "review",
            "steps": [
                {"kind": "self_check", "keep_count": 3, "drop_count": 1, "avg_confidence": 0.82}
            ],
        },
        answer="",
    ),
    Operation("/v1/trajectories/{run_id}", "GET", _wings.get_trajectory, answer=""),
    Operation("/v1/traces", "POST", _otlp.post_traces, answer=""),
)

_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message", "where"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string", "examples": sorted(set(CODES.values()))},
                "message": {"type": "string"},
                "where": {"type": ["string", "null"]},
            },
        }
    },
}

_WRITE_REPORT = {
    "type": "object",
    "required": ["received", "accepted", "ignored", "rejected", "dropped_fields", "problems"],
    "properties": {
        "received": {"type": "integer"},
        "accepted": {"type": "integer"},
        "ignored": {"type": "integer"},
        "rejected": {"type": "integer"},
        "dropped_fields": {"type": "integer"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "reason": {"type": "string"},
                    "where": {"type": ["string", "null"]},
                },
            },
        },
        "ids": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"index": {"type": "integer"}, "id": {"type": "string"}},
            },
        },
    },
}


def _summary(endpoint: Callable[..., Any]) -> str:
    doc = (endpoint.__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc else endpoint.__name__


def build(extra: list[tuple[str, Callable[..., Any]]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """The OpenAPI 3.1 document of :data:`OPERATIONS` (plus ``extra`` GET routes, the
    dashboard's, as free-form answers)."""
    types = [op.body for op in OPERATIONS if op.body is not None]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    by_type = dict(zip(map(id, types), schemas, strict=True))
    components = {**components, "Error": _ENVELOPE, "WriteReport": _WRITE_REPORT}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, by_type)
    for path, endpoint in extra:
        paths.setdefault(path, {})["get"] = {
            "summary": _summary(endpoint),
            "tags": ["dashboard"],
            "responses": {
                "200": {"description": "the page (HTML) or its data (JSON)"},
                "default": _error_answer(),
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "outcomes",
            "version": __version__,
            "description": "The HTTP service of outcomes (docs/server.md).",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _error_answer() -> dict[str, Any]:
    return {
        "description": "the error envelope",
        "content": {"application/json": {"schema": {"$ref": REF.format(name="Error")}}},
    }


def _operation(op: Operation, by_type: dict[int, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": _summary(op.endpoint), "responses": {}}
    if op.path == "/v1/traces":
        out["requestBody"] = {
            "required": True,
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "OTLP/JSON ExportTraceServiceRequest",
                    }
                },
            },
        }
    if op.open:
        out["security"] = []
    params = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    if params:
        out["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    if op.body is not None:
        content: dict[str, Any] = {
            "application/json": {"schema": by_type[id(op.body)], "example": op.example}
        }
        if isinstance(op.example, list):
            content["application/x-ndjson"] = {"schema": {"type": "string"}}
        out["requestBody"] = {"required": True, "content": content}
    ok: dict[str, Any] = {"description": "done"}
    if op.answer:
        ok["content"] = {"application/json": {"schema": {"$ref": REF.format(name=op.answer)}}}
    out["responses"] = {"200": ok, "default": _error_answer()}
    return out
