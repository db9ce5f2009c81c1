"""The dashboard inside ``outcomes serve``: a real server process, the token rule, Chromium.

The service mounts the dashboard behind its API routes and its token: bound off
loopback, it needs a token and every page answers 401 without it; with the token (sent
by the browser as a header) every page renders its charts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.dashboard.test_browser import CHROMIUM, EXPECTED_CHARTS, _charts, sync_api

pytestmark = pytest.mark.slow
TOKEN = "dashboard-test-token-5f0c9a"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def served(demo_db: Path, tmp_path: Path) -> Iterator[str]:
    """``outcomes serve`` on all interfaces with a token, over the demo store."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    port = _free_port()
    log = tmp_path / "serve.log"
    command = [
        *(sys.executable, "-m", "outcomes.cli", "serve", "--db", f"sqlite:///{demo_db}"),
        *("--host", "0.0.0.0", "--port", str(port), "--token-file", str(token_file)),
    ]
    env = {**os.environ, "OUTCOMES_HOME": str(tmp_path / "home")}
    with log.open("w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "outcomes serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_pages_need_the_token_when_served_off_loopback(served: str) -> None:
    for path in ("/", "/models", "/routing", "/v1/dashboard/models", "/models/gpt-4o"):
        status, body = _get(served + path)
        assert status == 401, path
        assert '"unauthorized"' in body
        assert _get(served + path, "wrong-token")[0] == 401
    status, body = _get(served + "/models", TOKEN)
    assert status == 200
    assert 'data-chart="scatter"' in body


def test_every_page_renders_in_chromium_through_outcomes_serve(served: str) -> None:
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
            page: Any = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
            )
            for name, minimum in EXPECTED_CHARTS.items():
                page.goto(f"{served}/{name}")
                drawn = [c for c in _charts(page) if c["marks"] > 0]
                assert len(drawn) >= minimum, name
            page.goto(f"{served}/models")
            page.locator("a.api-link").click()
            page.wait_for_load_state()
            assert '"leaderboard"' in page.content()
        finally:
            browser.close()
    assert problems == []
