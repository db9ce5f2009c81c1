"""Delivery of finished trajectories to a remote HTTP endpoint, through a local outbox.

:meth:`TrajectoryStore.save` puts an entry in the ``trajectory_outbox`` table in the same
transaction as the trajectory, so a saved trajectory is never lost: entries survive the
endpoint being down and the process restarting. :meth:`TrajectoryOutbox.deliver_due` POSTs
every due entry; a failure is retried with exponential backoff and jitter (honouring a
numeric ``Retry-After``), until ``max_attempts``; a 4xx answer other than 408/425/429 is
permanent. Delivery is at-least-once: the ``Idempotency-Key`` header (the run id) lets the
receiver drop duplicates.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outcomes import config
from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._redact import redact
from outcomes.errors import ConfigError
from outcomes.trajectory._jsonschema import SCHEMA_VERSION
from outcomes.trajectory._records import OutboxEntry
from outcomes.trajectory._store import TrajectoryStore

logger = logging.getLogger("outcomes.trajectory.outbox")

_RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    """What a sender got back: an HTTP status (0 when no answer) and ``Retry-After`` seconds."""

    status: int
    retry_after: float | None = None
    error: str | None = None


Sender = Callable[[str, bytes, dict[str, str], float], Response]
"""``(url, body, headers, timeout) -> Response``; must not raise."""


def urllib_sender(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST with the standard library; network errors become ``Response(0, error=...)``."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(MAX_ANSWER_BYTES)  # the body is ignored: never read it whole
            return Response(answer.status)
    except urllib.error.HTTPError as exc:
        retry_after: float | None = None
        raw = exc.headers.get("Retry-After") if exc.headers else None
        if raw is not None:
            try:
                retry_after = max(float(raw), 0.0)
            except ValueError:
                retry_after = None
        exc.close()
        return Response(exc.code, retry_after, f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Response(0, None, f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :meth:`TrajectoryOutbox.deliver_due` pass did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _token_from_env() -> str | None:
    """The bearer token in the file named by ``OUTCOMES_TRAJECTORY_TOKEN_FILE``, if set."""
    path = os.environ.get(config.ENV_TRAJECTORY_TOKEN_FILE)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read(4097).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {config.ENV_TRAJECTORY_TOKEN_FILE}={path}: {exc}") from None
    if not token or len(token) > 4096 or any(c.isspace() for c in token):
        raise ConfigError(f"{config.ENV_TRAJECTORY_TOKEN_FILE}={path} must hold one token")
    return token


class TrajectoryOutbox:
    """Delivers the outbox entries of ``trajectories.outbox_endpoint``.

    The endpoint is meant to be ``outcomes serve``'s ``POST /v1/trajectories``
    (``OUTCOMES_TRAJECTORY_ENDPOINT=https://host/v1/trajectories``); ``token`` (default:
    the file named by ``OUTCOMES_TRAJECTORY_TOKEN_FILE``) is sent as
    ``Authorization: Bearer``.

    ``base_delay`` seconds doubles per failed attempt up to ``max_delay``, times a jitter
    factor in [0.5, 1]; after ``max_attempts`` failures an entry is marked failed (kept,
    visible in :meth:`entries`, and can be retried with :meth:`retry_failed`).
    """

    def __init__(
        self,
        trajectories: TrajectoryStore,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sender: Sender = urllib_sender,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 12,
        timeout: float = 10.0,
        batch_size: int = 50,
        rng: random.Random | None = None,
        token: str | None = None,
    ) -> None:
        if trajectories.outbox_endpoint is None:
            raise ConfigError(
                "no trajectory endpoint: pass outbox_endpoint= to TrajectoryStore or set "
                "OUTCOMES_TRAJECTORY_ENDPOINT"
            )
        if base_delay <= 0 or max_delay < base_delay or max_attempts < 1 or timeout <= 0:
            raise ConfigError(
                "outbox needs base_delay > 0, max_delay >= base_delay, "
                "max_attempts >= 1 and timeout > 0"
            )
        self.trajectories = trajectories
        self.endpoint: str = trajectories.outbox_endpoint
        self.clock = clock
        self.sender = sender
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.batch_size = batch_size
        self._rng = rng if rng is not None else random.Random()
        self._token = token if token is not None else _token_from_env()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def entries(self, state: str | None = None) -> list[OutboxEntry]:
        """Entries for this endpoint, oldest first; ``state`` filters by ``pending``,
        ``delivered`` or ``failed``."""
        rows = self.trajectories.store.scan(
            OutboxEntry.__table__, where=[("endpoint", "=", self.endpoint)]
        )
        return [e for e in rows if state is None or e.state == state]

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** min(attempts - 1, 60))
        return delay * (0.5 + 0.5 * self._rng.random())

    def _payload(self, entry: OutboxEntry) -> bytes | None:
        body = self.trajectories.document(entry.run_id)
        if body is None:
            return None
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def deliver_due(self) -> DeliveryReport:
        """Try every entry whose next attempt is due; never raises for delivery failures."""
        now = self.clock.now()
        store = self.trajectories.store
        table = OutboxEntry.__table__
        due = list(
            store.scan(
                table,
                where=[
                    ("endpoint", "=", self.endpoint),
                    ("delivered_at", "is null", None),
                    ("failed_at", "is null", None),
                    ("next_attempt_at", "<=", now),
                ],
                order_by="next_attempt_at",
                limit=self.batch_size,
            )
        )
        delivered = retried = failed = 0
        for entry in due:
            payload = self._payload(entry)
            if payload is None:
                # The trajectory was deleted while waiting: nothing left to deliver.
                store.delete(table, where=[("entry_id", "=", entry.entry_id)])
                continue
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": entry.run_id,
                "X-Outcomes-Schema-Version": str(SCHEMA_VERSION),
            }
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            answer = self.sender(self.endpoint, payload, headers, self.timeout)
            attempts = entry.attempts + 1
            now = self.clock.now()
            if 200 <= answer.status < 300:
                store.update(
                    table,
                    entry.entry_id,
                    {"attempts": attempts, "delivered_at": now, "last_error": None},
                )
                delivered += 1
                continue
            error = redact(answer.error or f"HTTP {answer.status}")
            permanent = 400 <= answer.status < 500 and answer.status not in _RETRYABLE_STATUS
            if permanent or attempts >= self.max_attempts:
                store.update(
                    table,
                    entry.entry_id,
                    {"attempts": attempts, "failed_at": now, "last_error": error},
                )
                logger.warning("giving up delivering trajectory %s: %s", entry.run_id, error)
                failed += 1
                continue
            wait = self.backoff(attempts)
            if answer.retry_after is not None:
                wait = min(max(wait, answer.retry_after), self.max_delay)
            store.update(
                table,
                entry.entry_id,
                {"attempts": attempts, "next_attempt_at": now + wait, "last_error": error},
            )
            retried += 1
        return DeliveryReport(delivered=delivered, retried=retried, failed=failed)

    def retry_failed(self) -> int:
        """Put entries that were given up on back in the queue; returns how many."""
        count = 0
        now = self.clock.now()
        for entry in self.entries("failed"):
            self.trajectories.store.update(
                OutboxEntry.__table__,
                entry.entry_id,
                {"failed_at": None, "attempts": 0, "next_attempt_at": now},
            )
            count += 1
        return count

    def start(self, interval: float = 1.0) -> None:
        """Deliver in a daemon thread every ``interval`` seconds until :meth:`close`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.deliver_due()
                except Exception:  # the loop must survive a store hiccup
                    logger.exception("trajectory outbox pass failed")
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="outcomes-trajectory-outbox", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread (entries not yet delivered stay in the outbox)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> TrajectoryOutbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
