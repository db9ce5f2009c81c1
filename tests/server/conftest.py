"""Fixtures of the server tests: an in-process client, and real ``outcomes serve``
processes on 127.0.0.1 (a free port each), stopped by the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from outcomes.inference import OutcomeTracker
from outcomes.server import ServerLimits, create_app
from outcomes.server._app import tracker_for
from outcomes.store import MemoryStore

TOKEN = "test-token-0123456789abcdef"
SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``outcomes serve`` in a subprocess on a free loopback port."""

    def __init__(self, db_url: str, tmp: Path, *, token: bool = False, **env: str) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "outcomes.cli", "serve", "--port", str(self.port)]
        self.args += ["--db", db_url]
        self.headers: dict[str, str] = {}
        if token:
            token_file = tmp / "token"
            token_file.write_text(TOKEN + "\n")
            token_file.chmod(0o600)
            self.args += ["--token-file", str(token_file)]
            self.headers = {"Authorization": f"Bearer {TOKEN}"}
        self.env = {**os.environ, "PYTHONPATH": str(SRC), **env}
        self.log = tmp / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> float:
        """Start and wait until ``/readyz`` answers 200; returns the seconds it took."""
        began = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", headers=self.headers, timeout=1).is_success:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready: {self.log.read_text()[-2000:]}")

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM (graceful: drains and commits), then wait; returns the exit code
        (uvicorn re-raises the signal once shut down: -15 is a clean exit too)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Make servers with ``server_factory(db_url, tmp_path, ...)``; all are stopped after."""
    made: list[ServerProcess] = []

    class Made(ServerProcess):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Made
    for server in made:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)


@pytest.fixture
def tracker() -> Iterator[OutcomeTracker]:
    t = tracker_for(MemoryStore())
    yield t
    t.close()


def make_client(
    tracker: OutcomeTracker, *, token: str | None = None, limits: ServerLimits | None = None
) -> TestClient:
    return TestClient(
        create_app(tracker, token=token, limits=limits), raise_server_exceptions=False
    )


@pytest.fixture
def client(tracker: OutcomeTracker) -> Iterator[TestClient]:
    with make_client(tracker) as c:
        yield c
