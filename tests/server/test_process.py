"""Real ``outcomes serve`` processes on 127.0.0.1: crash safety, restart, slow clients."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from outcomes.records import Receipt
from outcomes.store import SQLiteStore

from .conftest import ServerProcess

pytestmark = pytest.mark.slow


def batch(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        {
            "event": "complete",
            "trace_id": f"{prefix}-{i}",
            "model_id": f"m{i % 3}",
            "task": "code",
            "latency_ms": 50 + i,
            "output_tokens": 3,
        }
        for i in range(n)
    ]


def stored_traces(path: Path) -> set[str]:
    store = SQLiteStore(path)
    try:
        return {r.trace_id for r in store.scan(Receipt.__table__)}
    finally:
        store.close()


def test_sigkill_mid_load_loses_no_acknowledged_event(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    db = tmp_path / "served.db"
    server = server_factory(f"sqlite:///{db}", tmp_path, token=True)
    server.start()
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        with server.client() as client:
            for k in range(10_000):
                if stop.is_set():
                    return
                events = batch(f"w{worker}-b{k}", 100)
                try:
                    answer = client.post("/v1/events", json=events)
                except httpx.TransportError:
                    return  # the server died under this request: not acknowledged
                if answer.status_code == 200:
                    assert answer.json()["accepted"] == 100
                    with lock:
                        acked.update(str(e["trace_id"]) for e in events)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 3000:
                break
        time.sleep(0.05)
    server.kill()  # SIGKILL: no shutdown hook runs
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 3000
    missing = acked - stored_traces(db)
    assert not missing, f"{len(missing)} acknowledged events lost"

    restarted = server_factory(f"sqlite:///{db}", tmp_path, token=True)
    took = restarted.start()
    assert took < 10
    with restarted.client() as client:
        answer = client.post("/v1/events", json=batch("after", 5))
        assert answer.json()["accepted"] == 5
    assert restarted.stop() in (0, -15)


def test_graceful_shutdown_commits_and_exits_cleanly(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    db = tmp_path / "served.db"
    server = server_factory(f"sqlite:///{db}", tmp_path)
    server.start()
    with server.client() as client:
        assert client.post("/v1/events", json=batch("g", 50)).json()["accepted"] == 50
    assert server.stop() in (0, -15)
    assert len(stored_traces(db)) == 50
    log = server.log.read_text()
    assert "Application shutdown complete" in log
    assert "committing what was accepted" in log
    assert '"route":"/v1/events"' in log  # the access log line, without the body
    assert "g-1" not in log


def test_slow_client_gets_408_and_others_are_served(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    server = server_factory(
        f"sqlite:///{tmp_path / 's.db'}", tmp_path, OUTCOMES_SERVER_REQUEST_TIMEOUT="1"
    )
    server.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n[{"
        )
        with server.client() as client:  # another client is not held up meanwhile
            assert client.get("/healthz").status_code == 200
        began = time.monotonic()
        head, body = read_answer(slow)
        assert time.monotonic() - began < 5
    assert head.startswith("HTTP/1.1 408")
    assert json.loads(body)["error"]["code"] == "request_timeout"


def read_answer(sock: socket.socket) -> tuple[str, str]:
    """An HTTP/1.1 answer's head and body, read until Content-Length bytes arrived."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.decode(), body.decode()


def test_refuses_a_public_bind_without_a_token(tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import SRC

    done = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "serve", "--host", "0.0.0.0",
         "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing to bind 0.0.0.0 without a token" in done.stderr


def test_several_workers_serve_one_store(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    db = tmp_path / "workers.db"
    server = server_factory(f"sqlite:///{db}", tmp_path, token=True)
    server.args += ["--workers", "2"]
    server.start()
    sent = 0
    for k in range(12):
        with server.client() as client:  # new connections: spread over the workers
            answer = client.post("/v1/events", json=batch(f"k{k}", 20))
            assert answer.json()["accepted"] == 20
            sent += 20
    assert server.stop() in (0, -15)
    assert len(stored_traces(db)) == sent
    assert server.log.read_text().count("Application startup complete") == 2
