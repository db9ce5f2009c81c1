"""The dashboard in a real Chromium: every page renders its charts, links and filters work.

Chromium comes from the distribution (``/usr/bin/chromium``, installed by ``.ci/run``);
Playwright drives it and never downloads a browser. A real uvicorn server on a free
127.0.0.1 port serves the app over a store the demo workload filled. Any console error
or failed request fails the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from outcomes.inference import OutcomeTracker
from outcomes.server.dashboard import create_dashboard_app

pytest.importorskip("uvicorn")
CHROMIUM = os.environ.get("OUTCOMES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (.ci/run)
    if os.environ.get("OUTCOMES_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    pytest.skip("no Chromium (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

EXPECTED_CHARTS = {
    "models": 1,
    "routing": 2,  # traffic shares, cut-offs (the demo's outage)
    "calibration": 1,
    "components": 2,
    "code": 2,  # the demo's suggestions reach no survival checkpoint: that chart is empty
    "trajectories": 1,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_url(tracker: OutcomeTracker) -> Iterator[str]:
    with _serving(create_dashboard_app(tracker)) as url:
        yield url


@contextlib.contextmanager
def _serving(app: Any) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: problems.append(str(e)))
            pg.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            pg.on(
                "response",
                lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
            )
            yield pg
        finally:
            browser.close()
    assert problems == []


def _charts(pg: Any) -> list[dict[str, Any]]:
    return pg.eval_on_selector_all(
        "svg.chart",
        """els => els.map(e => ({
            kind: e.dataset.chart,
            title: e.querySelector('title')?.textContent || '',
            series: [...e.querySelectorAll('g.series')].map(g => g.dataset.series),
            marks: e.querySelectorAll('g.series path, g.series circle, g.series rect').length,
            width: e.getBoundingClientRect().width,
        }))""",
    )


def test_every_page_renders_its_charts_with_the_expected_series(base_url: str, page: Any) -> None:
    for name, minimum in EXPECTED_CHARTS.items():
        page.goto(f"{base_url}/{name}")
        charts = _charts(page)
        drawn = [c for c in charts if c["marks"] > 0]
        assert len(drawn) >= minimum, (name, charts)
        for c in drawn:
            assert c["width"] > 100
            assert c["title"]
            assert c["series"]
        assert page.locator("table").count() >= 1
    page.goto(f"{base_url}/models")
    scatter = _charts(page)[0]
    assert {"gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"} <= set(scatter["series"])
    page.goto(f"{base_url}/routing")
    share = _charts(page)[0]
    assert share["kind"] == "stacked"
    assert "qwen2.5-coder-7b-local" in share["series"]
    lanes = next(c for c in _charts(page) if c["kind"] == "lanes")
    assert {"rate limit cooldown", "breaker: rate limits"} <= set(lanes["series"])
    assert lanes["marks"] >= 2


def test_the_filter_form_and_the_links_lead_where_they_say(base_url: str, page: Any) -> None:
    page.goto(f"{base_url}/models")
    page.select_option("select[name=since]", "7d")
    page.select_option("select[name=project]", "demo-history")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "since=7d" in url and "project=demo-history" in url)
    assert page.locator("a.api-link").get_attribute("href") == (
        "/v1/dashboard/models?since=7d&project=demo-history"
    )
    # A model link keeps the filters; the model page draws five trends.
    page.locator("table a").first.click()
    page.wait_for_load_state()
    assert "since=7d" in page.url
    assert "project=demo-history" in page.url
    trends = [c for c in _charts(page) if c["kind"] == "line"]
    assert len(trends) == 5
    assert all(c["marks"] > 0 for c in trends)
    # The JSON call behind the page answers.
    page.locator("a.api-link").click()
    page.wait_for_load_state()
    assert '"page":"model"' in page.content().replace(" ", "")
    # The navigation keeps the filters; a page marks those it cannot apply.
    page.go_back()
    page.wait_for_load_state()
    page.click("header nav a:text('Components')")
    page.wait_for_url("**/components?since=7d&project=demo-history")
    assert page.locator("form.filters label.na").count() == 4
    assert page.locator("p.note").count() == 2  # the time range and the project are set
    page.click("header nav a:text('Routing')")
    page.wait_for_url("**/routing?since=7d&project=demo-history")
    marked = page.locator("form.filters label.na").all_inner_texts()
    assert [" ".join(t.split()) for t in marked] == ["tag (not applied here)"]
    # The navigation reaches every page, and a run's page from the list.
    page.goto(f"{base_url}/models")
    page.click("header nav a:text('Trajectories')")
    page.wait_for_url("**/trajectories")
    page.locator("table a").first.click()
    page.wait_for_url("**/trajectories/**")
    timeline = _charts(page)[0]
    assert timeline["kind"] == "timeline"
    assert timeline["marks"] > 5


def test_pages_are_usable_without_javascript(base_url: str) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            pg = browser.new_context(java_script_enabled=False).new_page()
            pg.goto(f"{base_url}/routing?since=7d")
            assert pg.locator("svg.chart g.series").count() > 0
            assert pg.locator("table tbody tr").count() > 3
        finally:
            browser.close()


def test_a_report_still_being_computed_is_said_and_the_page_reloads_itself(
    tracker: OutcomeTracker, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.server.dashboard import _reports

    # The calibration report started at start-up (warm_up) is held until the page has
    # shown that it is being computed; then the page's own refresh brings the report.
    gate = threading.Event()
    compute = _reports.REPORTS["calibration"]

    def held(src: Any) -> Any:
        gate.wait(30)
        return compute(src)

    monkeypatch.setitem(_reports.REPORTS, "calibration", held)
    with _serving(create_dashboard_app(tracker, warm_up=True)) as url:
        page.goto(f"{url}/calibration?since=7d")
        status = page.locator("p.computing")
        assert "calibration report is being computed" in status.inner_text()
        assert status.locator("a").get_attribute("href") == "/calibration?since=7d"
        assert _charts(page) == []
        gate.set()
        page.wait_for_selector("svg.chart g.series", timeout=20_000)
        assert page.locator("p.computing").count() == 0
        assert "since=7d" in page.url
