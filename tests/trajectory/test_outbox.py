"""Delivery to a remote endpoint through the outbox, against a real local HTTP server."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from outcomes.errors import ConfigError
from outcomes.store import MemoryStore, SQLiteStore
from outcomes.testing import FakeClock
from outcomes.trajectory import (
    FinalDecision,
    SelfCheck,
    TrajectoryOutbox,
    TrajectoryStore,
)


@dataclass
class Remote:
    """A local endpoint whose answers the test scripts: a queue of status codes (then 200)."""

    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/trajectories"


def serve(remote: Remote, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = remote.statuses.pop(0) if remote.statuses else 200
            if status == 200:
                remote.received.append(json.loads(body))
                remote.headers.append(dict(self.headers))
            self.send_response(status)
            if status != 200 and remote.retry_after is not None:
                self.send_header("Retry-After", remote.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    remote.server = server
    return server


@pytest.fixture
def remote() -> Iterator[Remote]:
    r = Remote()
    server = serve(r)
    yield r
    server.shutdown()
    server.server_close()


def trajectory_store(store: Any, url: str, clock: FakeClock) -> TrajectoryStore:
    return TrajectoryStore(store, clock=clock, outbox_endpoint=url)


def outbox(ts: TrajectoryStore, clock: FakeClock, **kw: Any) -> TrajectoryOutbox:
    kw.setdefault("rng", random.Random(1))
    kw.setdefault("timeout", 5.0)
    return TrajectoryOutbox(ts, clock=clock, base_delay=10.0, max_delay=600.0, **kw)


def test_a_saved_trajectory_is_delivered_once_with_its_steps(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5), FinalDecision(["i1"])], project_id="p")
    box = outbox(ts, clock)
    report = box.deliver_due()
    assert (report.delivered, report.retried, report.failed) == (1, 0, 0)
    (body,) = remote.received
    assert body["run_id"] == "run-1"
    assert body["project_id"] == "p"
    assert body["schema_version"] == 1
    assert [s["kind"] for s in body["steps"]] == ["self_check", "final_decision"]
    assert remote.headers[0]["Idempotency-Key"] == "run-1"
    assert box.deliver_due().delivered == 0
    assert [e.state for e in box.entries()] == ["delivered"]


def test_while_the_endpoint_fails_delivery_backs_off_then_succeeds(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    remote.statuses = [503, 503]
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    box = outbox(ts, clock)
    assert box.deliver_due().retried == 1
    (entry,) = box.entries("pending")
    first_wait = entry.next_attempt_at - 1000.0
    assert 5.0 <= first_wait <= 10.0  # base 10 s times jitter in [0.5, 1]
    assert box.deliver_due().retried == 0  # not due yet: nothing sent
    clock.advance(first_wait)
    assert box.deliver_due().retried == 1
    (entry,) = box.entries("pending")
    second_wait = entry.next_attempt_at - clock.now()
    assert 10.0 <= second_wait <= 20.0  # doubled
    assert entry.attempts == 2
    assert entry.last_error == "HTTP 503 Service Unavailable"
    clock.advance(second_wait)
    assert box.deliver_due().delivered == 1
    assert len(remote.received) == 1


def test_nothing_is_lost_while_down_and_across_a_restart(tmp_path: Path) -> None:
    # Reserve a port, then close it: the endpoint is down (connection refused).
    probe = Remote()
    server = serve(probe)
    url = probe.url
    port = server.server_address[1]
    server.shutdown()
    server.server_close()

    clock = FakeClock(1000.0)
    path = tmp_path / "o.db"
    first = SQLiteStore(path)
    ts = trajectory_store(first, url, clock)
    for i in range(3):
        ts.save(f"run-{i}", [SelfCheck(i, 0, 0.5)])
    report = outbox(ts, clock).deliver_due()
    assert report.retried == 3
    first.close()  # the process "restarts"

    remote = Remote()
    server = serve(remote, port=port)
    try:
        clock.advance(3600)
        again = SQLiteStore(path)
        try:
            box = outbox(trajectory_store(again, url, clock), clock)
            assert box.deliver_due().delivered == 3
            assert sorted(b["run_id"] for b in remote.received) == ["run-0", "run-1", "run-2"]
            assert box.entries("pending") == []
        finally:
            again.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_permanent_client_error_stops_retrying_until_asked(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    remote.statuses = [400]
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    box = outbox(ts, clock)
    assert box.deliver_due().failed == 1
    clock.advance(10_000)
    assert box.deliver_due().delivered == 0
    (entry,) = box.entries("failed")
    assert entry.last_error is not None
    assert "400" in entry.last_error
    assert box.retry_failed() == 1
    assert box.deliver_due().delivered == 1


def test_after_max_attempts_the_entry_is_marked_failed_not_dropped(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    remote.statuses = [500] * 3
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    box = outbox(ts, clock, max_attempts=3)
    for _ in range(3):
        box.deliver_due()
        clock.advance(10_000)
    (entry,) = box.entries()
    assert entry.state == "failed"
    assert entry.attempts == 3
    assert remote.received == []


def test_retry_after_from_the_server_is_honoured(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    remote.statuses = [429]
    remote.retry_after = "120"
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    box = outbox(ts, clock)
    box.deliver_due()
    (entry,) = box.entries("pending")
    assert entry.next_attempt_at == pytest.approx(1120.0)


def test_a_trajectory_deleted_before_delivery_leaves_the_outbox(remote: Remote) -> None:
    clock = FakeClock(1000.0)
    ts = trajectory_store(MemoryStore(), remote.url, clock)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    ts.delete("run-1")
    box = outbox(ts, clock)
    assert box.deliver_due().delivered == 0
    assert box.entries() == []


def test_the_background_thread_delivers_and_stops(remote: Remote) -> None:
    ts = TrajectoryStore(MemoryStore(), outbox_endpoint=remote.url)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    with TrajectoryOutbox(ts, base_delay=0.01, max_delay=0.1) as box:
        box.start(interval=0.01)
        deadline = time.monotonic() + 10
        while not remote.received and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [b["run_id"] for b in remote.received] == ["run-1"]


def test_an_outbox_needs_an_endpoint_and_the_env_var_provides_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OUTCOMES_TRAJECTORY_ENDPOINT", raising=False)
    with pytest.raises(ConfigError):
        TrajectoryOutbox(TrajectoryStore(MemoryStore()))
    monkeypatch.setenv("OUTCOMES_TRAJECTORY_ENDPOINT", "http://127.0.0.1:9/x")
    assert TrajectoryStore(MemoryStore()).outbox_endpoint == "http://127.0.0.1:9/x"
    with pytest.raises(ConfigError):
        TrajectoryStore(MemoryStore(), outbox_endpoint="ftp://nope")
