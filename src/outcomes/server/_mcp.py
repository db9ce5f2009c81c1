"""``outcomes mcp``: the tracker, router and reports as MCP tools, over stdio.

Agent hosts that speak the Model Context Protocol record outcomes and ask for decisions
without code. Every tool's input goes through the same validation as the HTTP service
(the ingest decoder, the feedback event, the route request), and a write returns once it
is committed. Built on the official ``mcp`` SDK (the ``[mcp]`` extra).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from outcomes import _validate
from outcomes.errors import ValidationError
from outcomes.inference import apply_event
from outcomes.inference._ingest import decode_event
from outcomes.server._app import tracker_for
from outcomes.server._events import decode_feedback
from outcomes.server._reads import RouteRequest
from outcomes.store import Store


class _Desk:
    """The wing objects behind the tools, on one store."""

    def __init__(self, store: Store) -> None:
        from outcomes._schema import ALL_MIGRATIONS

        store.migrate(ALL_MIGRATIONS)
        self.store = store
        self.tracker = tracker_for(store)
        self._router: Any = None
        self._components: Any = None

    def components(self) -> Any:
        if self._components is None:
            from outcomes.components import ComponentTracker

            self._components = ComponentTracker(self.store)
        return self._components

    def router(self) -> Any:
        if self._router is None:
            from outcomes.registry import ModelRegistry
            from outcomes.routing import Router

            self._router = Router(registry=ModelRegistry.load(), tracker=self.tracker)
        return self._router

    def apply(self, payload: dict[str, Any], *, feedback: bool = False) -> bool:
        raw = msgspec.json.encode({k: v for k, v in payload.items() if v is not None})
        event = decode_feedback(raw)[0] if feedback else decode_event(raw)[0]
        changed = apply_event(self.tracker, event)
        result = self.tracker.flush(30.0)
        if not result.committed or result.dropped or result.failed:
            raise ValidationError("the store did not commit the record; try again")
        return changed

    def close(self) -> None:
        if self._components is not None:
            self._components.close()
        self.tracker.close()
        if self.tracker.writer is not None:
            self.tracker.writer.close()


class _Tools(_Desk):
    """The tools (each method's signature and docstring are its MCP schema)."""

    def record_call_outcome(
        self,
        trace_id: str,
        model_id: str,
        task: str,
        outcome: Literal["success", "failure"],
        latency_ms: float = 0.0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        error: str | None = None,
        project_id: str | None = None,
    ) -> dict[str, Any]:
        """Record one model call's outcome (a completion or a failure). Never pass prompt
        or answer text: ``error`` is a short error kind such as "429 Too Many Requests"."""
        payload: dict[str, Any] = {
            "trace_id": trace_id,
            "model_id": model_id,
            "task": task,
            "project_id": project_id,
            "latency_ms": latency_ms,
        }
        if outcome == "success":
            payload |= {
                "event": "complete",
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
            }
        else:
            payload |= {"event": "failure", "error": error or "failed"}
        return {"recorded": self.apply(payload), "trace_id": trace_id}

    def record_feedback(
        self,
        trace_id: str,
        score: float | None = None,
        score_range: list[float] | None = None,
        label: str | None = None,
        thumbs: bool | None = None,
        tags: list[str] | None = None,
        signal_id: str | None = None,
    ) -> dict[str, Any]:
        """Attach feedback to a recorded call: a score in score_range (default [0, 1]),
        a label, thumbs up (true) or down (false), tags."""
        payload = {
            "trace_id": trace_id,
            "score": score,
            "score_range": score_range,
            "label": label,
            "thumbs": thumbs,
            "tags": tags,
            "signal_id": signal_id,
        }
        return {"recorded": self.apply(payload, feedback=True), "trace_id": trace_id}

    def record_component_event(
        self, component_id: str, outcome: str, context: str = "", session_id: str | None = None
    ) -> dict[str, Any]:
        """Record what happened to a component: install_success, install_failure,
        used_in_session, removed_by_user or deprecated."""
        tracker = self.components()
        tracker.record_outcome(component_id, outcome, context, session_id=session_id)
        if not tracker.flush(30.0):
            raise ValidationError("the store did not commit the event; try again")
        stats = tracker.get_stats(component_id)
        return {"recorded": True, "attempts": stats.successes + stats.failures if stats else 0}

    def route(
        self,
        task: str,
        candidates: list[str] | None = None,
        max_cost_usd: float | None = None,
        max_p95_ms: float | None = None,
    ) -> dict[str, Any]:
        """Which model to use for a task now, and why: the choice, its propensity, the
        fallbacks, every candidate's reason, and the trace_id to report the outcome on."""
        from outcomes.routing import NoModelAvailable

        body = {
            "task": task,
            "candidates": candidates,
            "max_cost_usd": max_cost_usd,
            "max_p95_ms": max_p95_ms,
        }
        req = _validate.decode(
            msgspec.json.encode({k: v for k, v in body.items() if v is not None}), RouteRequest
        )
        try:
            decision = self.router().decide(
                req.task,
                candidates=req.candidates,
                max_cost_usd=req.max_cost_usd,
                max_p95_ms=req.max_p95_ms,
            )
        except NoModelAvailable as exc:
            raise ValidationError(str(exc)) from None
        trace_id = self.tracker.record_start(
            decision.model_id, req.task, decision.reason, propensity=decision.propensity
        )
        out: dict[str, Any] = msgspec.to_builtins({**decision.as_dict(), "trace_id": trace_id})
        return out

    def model_leaderboard(
        self, task: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Every model with recorded calls, best first: calls, success rate with its 95%
        interval, quality, p50/p95 latency, cost per success."""
        from outcomes.inference import ProfileFilter, matching_profiles

        flt = ProfileFilter(task=task, project_id=project)
        self.tracker.flush(30.0)
        profiles = matching_profiles(self.store, flt)
        profiles.sort(key=lambda p: (-p.success_mean, p.model_id))
        return [p.to_json() for p in profiles]

    def component_report(self, component_id: str | None = None) -> list[dict[str, Any]]:
        """Components with counts, success rates with intervals, and whether problematic."""
        tracker = self.components()
        tracker.refresh()
        reports = tracker.report()
        return [r.to_json() for r in reports if component_id in (None, r.component_id)]

    def calibration_report(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Shadow calibration: the caller's vs the derived confidence per namespace and
        source, with the verdict (switch, keep, insufficient_data)."""
        from outcomes.shadow import calibration_report as report
        from outcomes.shadow._report import report_json

        return report_json(report(self.store, namespace=namespace))


TOOLS = (
    "record_call_outcome",
    "record_feedback",
    "record_component_event",
    "route",
    "model_leaderboard",
    "component_report",
    "calibration_report",
)


def build(store: Store) -> Any:
    """The MCP server (``mcp.server.mcpserver.MCPServer``) with the outcomes tools."""
    from mcp.server.mcpserver import MCPServer

    tools = _Tools(store)
    server = MCPServer("outcomes", instructions=(
        "Record what happened after a model call (record_call_outcome, record_feedback), "
        "ask which model to use (route), and read the leaderboard and reports."
    ))  # fmt: skip
    for name in TOOLS:
        server.tool()(getattr(tools, name))
    server.outcomes_desk = tools  # type: ignore[attr-defined]
    return server


def run(store: Store) -> None:
    """Serve the tools over stdio until the client closes the streams."""
    server = build(store)
    try:
        server.run("stdio")
    finally:
        server.outcomes_desk.close()
