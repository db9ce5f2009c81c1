"""Trajectories in a store: save (all or nothing), get, list, delete, import; verdicts.

Steps are validated when they are saved (not when they are pushed): a trajectory with one
bad step is rejected whole, with the step index and field in the error, and nothing is
written. ``llm_call.raw_output`` is never stored (no model output text reaches storage).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from outcomes import config
from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import derived_id, new_id
from outcomes._redact import refuse_secret
from outcomes.errors import ConfigError, ValidationError
from outcomes.records import Receipt, validate_task
from outcomes.stats import wilson_interval
from outcomes.store import Store
from outcomes.trajectory._jsonschema import SCHEMA_VERSION
from outcomes.trajectory._records import OutboxEntry, StoredStep, TrajectoryRun
from outcomes.trajectory._schema import MIGRATIONS
from outcomes.trajectory._steps import AnyStep
from outcomes.trajectory._wire import (
    DEFAULT_REGISTRY,
    MAX_STEPS,
    StepRegistry,
    loads_steps,
    step_from_wire,
    step_to_wire,
    steps_from_wire,
)

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+#-]{0,127}$")

RECEIPT_KIND = "review_finding"
"""``Receipt.kind`` of a verdict on an emitted issue."""


class Verdict(StrEnum):
    """What became of an issue a run emitted."""

    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    FIXED = "fixed"

    @property
    def success(self) -> bool:
        return self is not Verdict.DISMISSED


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is 1-128 characters of letters, digits and ``_.:/@+#-``."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValidationError(
            f"invalid run id {run_id!r}: use 1-128 letters, digits or _.:/@+#- "
            "starting with a letter or digit",
            where="run",
        )
    return refuse_secret(run_id, "run_id", unique=True)


@dataclass(frozen=True, slots=True)
class Precision:
    """How many emitted issues were accepted or fixed (true) versus dismissed (false)."""

    runs: int
    issues: int
    accepted: int
    fixed: int
    dismissed: int

    @property
    def judged(self) -> int:
        return self.accepted + self.fixed + self.dismissed

    @property
    def pending(self) -> int:
        return self.issues - self.judged

    @property
    def precision(self) -> float | None:
        """Share of judged issues that were right; ``None`` before any verdict."""
        return (self.accepted + self.fixed) / self.judged if self.judged else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of :attr:`precision`."""
        return wilson_interval(self.accepted + self.fixed, self.judged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "issues": self.issues,
            "accepted": self.accepted,
            "fixed": self.fixed,
            "dismissed": self.dismissed,
            "pending": self.pending,
            "precision": self.precision,
            "interval": list(self.interval) if self.interval else None,
        }


def _stored_body(wire: dict[str, Any]) -> dict[str, Any]:
    # The wire object as written (key order included), minus model output text.
    body = dict(wire)
    if body.get("kind") == "llm_call":
        body.pop("raw_output", None)
    return body


class TrajectoryStore:
    """Trajectories per run id in any :class:`~outcomes.store.Store`.

    ``outbox_endpoint`` (explicit > ``OUTCOMES_TRAJECTORY_ENDPOINT`` > none) makes every
    saved trajectory wait in the outbox for delivery (see :class:`TrajectoryOutbox`).
    """

    def __init__(
        self,
        store: Store,
        *,
        registry: StepRegistry | None = None,
        clock: Clock = SYSTEM_CLOCK,
        outbox_endpoint: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry if registry is not None else DEFAULT_REGISTRY
        self.clock = clock
        if outbox_endpoint is None:
            outbox_endpoint = config._env_value(
                config.ENV_TRAJECTORY_ENDPOINT, _endpoint, None, None
            )
        self.outbox_endpoint = _endpoint(outbox_endpoint) if outbox_endpoint else None
        store.migrate(MIGRATIONS)

    # -- writing --------------------------------------------------------------------
    def _validated_wire(self, steps: Sequence[AnyStep]) -> list[dict[str, Any]]:
        if len(steps) > MAX_STEPS:
            raise ValidationError(
                f"{len(steps)} steps exceed the cap of {MAX_STEPS} per trajectory",
                where="steps",
            )
        out = []
        for i, step in enumerate(steps):
            try:
                wire = step_to_wire(step, i, self.registry)
            except (AttributeError, TypeError) as exc:
                raise ValidationError(f"not a step: {exc}", where=f"steps[{i}]") from exc
            # Steps pushed as typed objects are checked here, on their way to storage.
            step_from_wire(wire, i, self.registry)
            out.append(wire)
        return out

    def save(
        self,
        run_id: str,
        steps: Sequence[AnyStep],
        *,
        pipeline: str = "review",
        project_id: str | None = None,
        created_at: float | None = None,
    ) -> TrajectoryRun:
        """Store the trajectory of ``run_id`` in one transaction; return its header.

        Raises :class:`ValidationError` (``where`` = ``steps[i].field``) for a bad step and
        when ``run_id`` already has a trajectory; nothing is written in either case.
        """
        validate_run_id(run_id)
        try:
            validate_task(pipeline)
        except ValueError as exc:
            raise ValidationError(str(exc), where="pipeline") from exc
        if created_at is not None and not math.isfinite(created_at):
            raise ValidationError("must be finite", where="created_at")
        wire = self._validated_wire(steps)
        if self.run(run_id) is not None:
            raise _already_saved(run_id)
        save_id = new_id()
        issue_ids: list[str] = []
        for w in wire:
            if w["kind"] == "final_decision":
                issue_ids.extend(w["issue_ids_emitted"])
        now = self.clock.now() if created_at is None else created_at
        header = TrajectoryRun(
            run_id=run_id,
            created_at=now,
            pipeline=pipeline,
            project_id=project_id,
            step_count=len(wire),
            schema_version=SCHEMA_VERSION,
            issue_ids=list(dict.fromkeys(issue_ids)),
            save_id=save_id,
        )
        records: list[Any] = [header]
        for i, w in enumerate(wire):
            trace = w.get("trace_id") if w["kind"] == "llm_call" else None
            records.append(
                StoredStep(
                    step_id=derived_id("trajectory.step", run_id, save_id, str(i)),
                    run_id=run_id,
                    save_id=save_id,
                    position=i,
                    kind=w["kind"],
                    trace_id=trace if isinstance(trace, str) else None,
                    body=_stored_body(w),
                )
            )
        if self.outbox_endpoint is not None:
            records.append(
                OutboxEntry(
                    entry_id=derived_id("trajectory.outbox", run_id, self.outbox_endpoint),
                    run_id=run_id,
                    endpoint=self.outbox_endpoint,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        self.store.write(records)
        current = self.run(run_id)
        if current is None or current.save_id != save_id:
            # Another writer saved this run id between our check and our write: its header
            # won (the key is unique), so our steps are unreachable; remove them.
            self.store.delete(StoredStep.__table__, where=[("save_id", "=", save_id)])
            raise _already_saved(run_id)
        # Steps of earlier saves of this id (a delete interrupted half-way) are unreachable.
        self.store.delete(
            StoredStep.__table__, where=[("run_id", "=", run_id), ("save_id", "!=", save_id)]
        )
        return header

    def import_json(self, run_id: str, text: str | bytes, **kwargs: Any) -> TrajectoryRun:
        """Validate a JSON trajectory array and save it (all or nothing); see :meth:`save`."""
        validate_run_id(run_id)
        return self.save(run_id, loads_steps(text, self.registry), **kwargs)

    def delete(self, run_id: str) -> bool:
        """Delete the trajectory of ``run_id`` and its outbox entries; verdict receipts stay
        on the ledger. Returns whether the run existed."""
        existed = self.store.delete(TrajectoryRun.__table__, where=[("run_id", "=", run_id)]) > 0
        self.store.delete(StoredStep.__table__, where=[("run_id", "=", run_id)])
        self.store.delete(OutboxEntry.__table__, where=[("run_id", "=", run_id)])
        return existed

    # -- reading --------------------------------------------------------------------
    def run(self, run_id: str) -> TrajectoryRun | None:
        """The header of ``run_id``, or ``None``."""
        for header in self.store.scan(
            TrajectoryRun.__table__, where=[("run_id", "=", run_id)], limit=1
        ):
            return header
        return None

    def get_json(self, run_id: str) -> list[dict[str, Any]] | None:
        """The stored wire array of ``run_id`` (with ``seq``), or ``None`` if there is none."""
        header = self.run(run_id)
        return None if header is None else self._wire_steps(header)

    def document(self, run_id: str) -> dict[str, Any] | None:
        """``run_id`` as one JSON document, its header and its wire steps: what the API
        serves and what the outbox delivers. ``None`` if there is no such run."""
        header = self.run(run_id)
        if header is None:
            return None
        return {
            "run_id": header.run_id,
            "pipeline": header.pipeline,
            "project_id": header.project_id,
            "created_at": header.created_at,
            "schema_version": header.schema_version,
            "steps": self._wire_steps(header),
        }

    def _wire_steps(self, header: TrajectoryRun) -> list[dict[str, Any]]:
        rows = self.store.scan(
            StoredStep.__table__,
            where=[("run_id", "=", header.run_id), ("save_id", "=", header.save_id)],
            order_by="position",
        )
        return [row.body for row in rows]

    def get(self, run_id: str) -> list[AnyStep] | None:
        """The steps of ``run_id`` rebuilt as typed objects (kinds this registry does not
        know come back as :class:`UnknownStep`), or ``None``."""
        wire = self.get_json(run_id)
        return None if wire is None else steps_from_wire(wire, self.registry)

    def list_runs(
        self,
        *,
        limit: int | None = None,
        pipeline: str | None = None,
        since: float | None = None,
        project_id: str | None = None,
    ) -> list[TrajectoryRun]:
        """Stored runs, newest first; only those of ``pipeline``, created at or after
        ``since`` and of ``project_id`` when given (applied before ``limit``)."""
        where: list[Any] = [("pipeline", "=", pipeline)] if pipeline else []
        if since is not None:
            where.append(("created_at", ">=", since))
        if project_id is not None:
            where.append(("project_id", "=", project_id))
        return list(
            self.store.scan(
                TrajectoryRun.__table__,
                where=where,
                order_by="created_at",
                descending=True,
                limit=limit,
            )
        )

    def runs_for_trace(self, trace_id: str) -> list[str]:
        """Run ids whose ``llm_call`` steps carry inference trace id ``trace_id``."""
        rows = self.store.scan(StoredStep.__table__, where=[("trace_id", "=", trace_id)])
        return list(dict.fromkeys(row.run_id for row in rows))

    def call_receipts(self, run_id: str) -> dict[str, list[Receipt]]:
        """The ledger receipts of the inference calls this run's ``llm_call`` steps name by
        ``trace_id`` (what became of each call), by trace id, oldest first."""
        wire = self.get_json(run_id) or []
        traces = [
            w["trace_id"]
            for w in wire
            if w["kind"] == "llm_call" and isinstance(w.get("trace_id"), str)
        ]
        out: dict[str, list[Receipt]] = {t: [] for t in traces}
        for start in range(0, len(traces), 500):
            chunk = traces[start : start + 500]
            for receipt in self.store.scan(Receipt.__table__, where=[("trace_id", "in", chunk)]):
                out[receipt.trace_id].append(receipt)
        return out

    # -- verdicts -------------------------------------------------------------------
    def _finding_receipts(self, run_id: str | None) -> Iterator[Receipt]:
        where: list[Any] = [("kind", "=", RECEIPT_KIND)]
        if run_id is not None:
            where.append(("trace_id", "=", run_id))
        return self.store.scan(Receipt.__table__, where=where)

    def verdicts(self, run_id: str) -> dict[str, Receipt]:
        """The latest verdict receipt per issue id of ``run_id``."""
        latest: dict[str, Receipt] = {}
        for receipt in self._finding_receipts(run_id):
            if receipt.signal_id is not None:
                latest[receipt.signal_id] = receipt
        return latest

    def record_verdict(
        self, run_id: str, issue_id: str, verdict: Verdict | str, *, at: float | None = None
    ) -> Receipt:
        """Record what became of ``issue_id`` (emitted by ``run_id``) as a receipt.

        The receipt has ``kind="review_finding"``, ``trace_id`` = the run id,
        ``signal_id`` = the issue id, ``intent`` = the verdict and ``success`` true for
        accepted/fixed. A changed verdict supersedes the previous receipt; repeating the
        current verdict returns the existing receipt. Raises :class:`ValidationError` for an
        unknown run, an issue the run never emitted, or an unknown verdict.
        """
        try:
            verdict = Verdict(verdict)
        except ValueError as exc:
            allowed = [v.value for v in Verdict]
            raise ValidationError(
                f"expected one of {allowed}, got {verdict!r}", where="verdict"
            ) from exc
        header = self.run(run_id)
        if header is None:
            raise ValidationError(f"no trajectory for run {run_id!r}", where="run")
        if issue_id not in header.issue_ids:
            raise ValidationError(
                f"run {run_id!r} never emitted issue {issue_id!r} (final_decision ids: "
                f"{header.issue_ids[:10]})",
                where="issue_id",
            )
        previous = self.verdicts(run_id).get(issue_id)
        if previous is not None and previous.intent == verdict.value:
            return previous
        count = sum(1 for r in self._finding_receipts(run_id) if r.signal_id == issue_id)
        receipt = Receipt(
            receipt_id=derived_id(
                "trajectory.verdict", run_id, issue_id, verdict.value, str(count)
            ),
            trace_id=run_id,
            model_id=header.pipeline,
            task="review",
            timestamp=self.clock.now() if at is None else at,
            success=verdict.success,
            quality=1.0 if verdict.success else 0.0,
            project_id=header.project_id,
            intent=verdict.value,
            kind=RECEIPT_KIND,
            source="verdict",
            supersedes=previous.receipt_id if previous is not None else None,
            signal_id=issue_id,
        )
        self.store.write([receipt])
        return receipt

    def precision(self, *, run_id: str | None = None, pipeline: str | None = None) -> Precision:
        """Precision of emitted issues from the latest verdict per issue, over one run, one
        pipeline, or every stored run."""
        if run_id is not None:
            header = self.run(run_id)
            headers = [header] if header is not None else []
        else:
            headers = self.list_runs(pipeline=pipeline)
        issues = {(h.run_id, i) for h in headers for i in h.issue_ids}
        latest: dict[tuple[str, str], str] = {}
        for receipt in self._finding_receipts(run_id):
            key = (receipt.trace_id, receipt.signal_id or "")
            if key in issues and receipt.intent is not None:
                latest[key] = receipt.intent
        counts = {v.value: 0 for v in Verdict}
        for verdict in latest.values():
            if verdict in counts:
                counts[verdict] += 1
        return Precision(
            runs=len(headers),
            issues=len(issues),
            accepted=counts["accepted"],
            fixed=counts["fixed"],
            dismissed=counts["dismissed"],
        )


def _already_saved(run_id: str) -> ValidationError:
    return ValidationError(f"run {run_id!r} already has a trajectory; delete it first", where="run")


def _endpoint(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"trajectory endpoint must be an http(s):// URL, got {url!r}")
    return url
