"""Every page and its JSON call over a demo store, through the ASGI app (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape as html_escape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from outcomes.inference import OutcomeTracker, ProfileBook
from outcomes.server.dashboard import create_dashboard_app
from outcomes.server.dashboard._data import failure_kind
from outcomes.server.dashboard._filters import LABELS
from outcomes.store import MemoryStore

PAGES = ("models", "routing", "calibration", "components", "code", "trajectories")


@pytest.fixture
def client(tracker: OutcomeTracker) -> Iterator[TestClient]:
    with TestClient(create_dashboard_app(tracker)) as c:
        yield c


def _series(html: str) -> set[str]:
    return set(re.findall(r'<g class="series" data-series="([^"]*)"', html))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_charts_with_text_alternatives_and_links_its_data(
    client: TestClient, page: str
) -> None:
    r = client.get(f"/{page}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    charts = re.findall(r'<svg class="chart".*?</svg>', r.text, re.S)
    assert charts
    for chart in charts:
        assert re.search(r"<title id=\"c\d+t\">[^<]+</title><desc id=\"c\d+d\">[^<]+</desc>", chart)
    assert "<table" in r.text
    assert f'href="/v1/dashboard/{page}"' in r.text
    assert "<script" not in r.text
    assert "http://" not in r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    data = client.get(f"/v1/dashboard/{page}")
    assert data.status_code == 200
    assert data.json()["page"] == page


def test_models_page_shows_the_same_numbers_as_the_stored_profiles(
    client: TestClient, tracker: OutcomeTracker
) -> None:
    assert tracker.store is not None
    expected = {p.model_id: p for p in ProfileBook(tracker.store).profiles()}
    board = client.get("/v1/dashboard/models").json()["leaderboard"]
    assert {r["model_id"] for r in board} == set(expected)
    for row in board:
        p = expected[row["model_id"]]
        assert (row["calls"], row["successes"], row["failures"]) == (
            p.calls,
            p.successes,
            p.failures,
        )
        assert row["latency_p95_ms"] == pytest.approx(p.latency_p95_ms)
        assert row["cost_per_success"] == pytest.approx(p.cost_per_success)
    lows = [r["success_interval"][0] for r in board if r["success_interval"]]
    assert lows == sorted(lows, reverse=True)
    html = client.get("/models").text
    assert _series(html) >= {r["model_id"] for r in board if r["cost_per_success"]}


def test_the_time_range_counts_only_recent_calls_and_the_trends_cover_the_week(
    client: TestClient,
) -> None:
    # The demo's history part spreads a week of routed calls behind the other parts.
    everything = client.get("/v1/dashboard/routing").json()
    day = client.get("/v1/dashboard/routing?since=24h").json()

    def calls(d: dict) -> int:
        return sum(p["calls"] for pts in d["share"]["models"].values() for p in pts)

    assert calls(day) < calls(everything)
    assert everything["share"]["bucket_s"] == 86_400
    assert len(everything["share"]["buckets"]) >= 7
    assert any(d["propensity"] is not None for d in everything["decisions"])
    models = client.get("/v1/dashboard/models?since=24h").json()
    total = client.get("/v1/dashboard/models").json()
    assert sum(r["calls"] for r in models["leaderboard"]) < sum(
        r["calls"] for r in total["leaderboard"]
    )


def test_a_time_range_covering_everything_gives_the_all_time_leaderboard(
    client: TestClient,
) -> None:
    # All time reads the shared profile fold; a range reads the hourly rollups.
    everything = {
        r["model_id"]: r for r in client.get("/v1/dashboard/models").json()["leaderboard"]
    }
    ranged = client.get("/v1/dashboard/models?since=30d").json()["leaderboard"]
    assert {r["model_id"] for r in ranged} == set(everything)
    for row in ranged:
        want = everything[row["model_id"]]
        for key in ("calls", "successes", "failures", "inconclusive"):
            assert row[key] == want[key], (row["model_id"], key)
        for key in ("quality", "latency_p50_ms", "latency_p95_ms", "cost_per_success"):
            if want[key] is None:
                assert row[key] is None, (row["model_id"], key)
            else:
                assert row[key] == pytest.approx(want[key], rel=1e-9), (row["model_id"], key)


def test_the_trends_add_up_to_the_leaderboard(client: TestClient) -> None:
    board = client.get("/v1/dashboard/models").json()["leaderboard"]
    share = client.get("/v1/dashboard/routing").json()["share"]["models"]
    for row in board:
        points = share[row["model_id"]]
        assert sum(p["calls"] for p in points) == row["calls"]
    week = client.get("/v1/dashboard/models/gpt-4o?since=7d").json()
    by_task = sum(r["calls"] for r in week["by_task"])
    assert sum(p["calls"] for p in week["series"]["models"]["gpt-4o"]) == by_task


def test_routing_page_draws_each_model_share_and_lists_reasons_with_propensities(
    client: TestClient,
) -> None:
    data = client.get("/v1/dashboard/routing?project=demo-history").json()
    assert set(data["share"]["models"]) <= _series(client.get("/routing?project=demo-history").text)
    assert data["reasons"]
    assert all(r["mean_propensity"] is not None for r in data["reasons"])
    assert all(0 < d["propensity"] <= 1 for d in data["decisions"])


def test_model_page_has_five_trends_and_failures_by_kind(client: TestClient) -> None:
    data = client.get("/v1/dashboard/models/gpt-4o").json()
    assert data["known"]
    assert data["by_task"]
    assert data["failures_by_kind"].get("server_error", 0) > 0
    assert all(f["kind"] in {"rate_limit", "timeout", "server_error", "other"}
               for f in data["recent_failures"])  # fmt: skip
    html = client.get("/models/gpt-4o?since=7d").text
    assert html.count('data-chart="line"') == 5
    assert "gpt-4o" in _series(html)


def test_a_run_page_shows_its_steps_in_order_with_a_timeline(client: TestClient) -> None:
    runs = client.get("/v1/dashboard/trajectories").json()["runs"]
    assert runs
    run_id = runs[0]["run_id"]
    assert f'href="/trajectories/{run_id}"' in client.get("/trajectories").text
    data = client.get(f"/v1/dashboard/trajectories/{run_id}").json()
    assert data["found"]
    assert [s["seq"] for s in data["steps"]] == list(range(len(data["steps"])))
    html = client.get(f"/trajectories/{run_id}").text
    assert 'data-chart="timeline"' in html
    # Steps are summarized by numbers and short labels: no stored excerpt reaches the page.
    assert "leaks f" not in html


def test_components_calibration_and_code_pages_carry_their_evidence(client: TestClient) -> None:
    comps = client.get("/v1/dashboard/components").json()
    assert comps["components"]
    assert "pairs_tested" in comps["conflicts"]
    cal = client.get("/v1/dashboard/calibration").json()
    assert cal["groups"]
    assert cal["groups"][0]["verdict"]
    code = client.get("/v1/dashboard/code").json()
    assert code["suggestions"] > 0
    assert sum(code["verdicts"].values()) == code["suggestions"]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("since=forever", "since"),
        ("task=no%20spaces", "task"),
        ("project=%E2%80%AEevil", "project"),
        ("limit=0", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("colour=red", "query"),
    ],
)
def test_bad_filters_get_a_clear_error_naming_the_parameter(
    client: TestClient, query: str, where: str
) -> None:
    r = client.get(f"/v1/dashboard/models?{query}")
    assert r.status_code == 400
    assert r.json()["error"]["where"] == where
    page = client.get(f"/models?{query}")
    assert page.status_code == 400
    assert "Invalid filter" in page.text
    assert "reset filters" in page.text


def test_hostile_ids_in_paths_are_escaped_not_rendered(client: TestClient) -> None:
    r = client.get("/models/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "No calls of this model" in r.text
    run = client.get("/trajectories/%3Cimg%20src%3Dx%3E")
    assert "<img" not in run.text
    assert "No stored trajectory" in run.text


def test_filters_are_kept_in_links_and_the_root_redirects_to_models(client: TestClient) -> None:
    r = client.get("/models?since=7d&project=demo-history", follow_redirects=False)
    assert 'href="/v1/dashboard/models?since=7d&amp;project=demo-history"' in r.text
    assert re.search(r'href="/models/[^"?]+\?since=7d&amp;project=demo-history"', r.text)
    home = client.get("/?since=7d", follow_redirects=False)
    assert home.status_code == 307
    assert home.headers["location"] == "/models?since=7d"


def test_a_mounted_dashboard_links_under_its_mount_point(tracker: OutcomeTracker) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/dash", create_dashboard_app(tracker, api_prefix="/api"))])
    with TestClient(outer) as c:
        html = c.get("/dash/routing").text
        assert 'href="/dash/api/dashboard/routing"' in html
        assert c.get("/dash/api/dashboard/routing").status_code == 200


def test_the_tag_filter_selects_the_tagged_calls() -> None:
    tracker = OutcomeTracker(MemoryStore())
    for model, tags in (("tagged-model", ["beta"]), ("other-model", None)):
        trace = tracker.record_start(model, "code", "test")
        tracker.record_complete(trace, 120.0, 10, 10)
        tracker.feedback(trace, thumbs=True, tags=tags)
    tracker.flush()
    with TestClient(create_dashboard_app(tracker)) as client:
        everything = client.get("/v1/dashboard/models").json()["leaderboard"]
        assert {r["model_id"] for r in everything} == {"tagged-model", "other-model"}
        board = client.get("/v1/dashboard/models?tag=beta").json()["leaderboard"]
        assert [(r["model_id"], r["calls"]) for r in board] == [("tagged-model", 1)]
        assert client.get("/v1/dashboard/models?tag=gamma").json()["leaderboard"] == []
        routing = client.get("/v1/dashboard/routing?tag=beta").json()
        assert any("tag 'beta' is not applied here" in n for n in routing["notes"])
    tracker.close()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("429 Too Many Requests", "rate_limit"),
        ("RESOURCE_EXHAUSTED", "rate_limit"),
        ("request timed out after 30s", "timeout"),
        ("ReadTimeout", "timeout"),
        ("upstream 503: service unavailable", "server_error"),
        ("HTTP 500", "server_error"),
        ("invalid api key", "other"),
    ],
)
def test_failures_are_sorted_into_kinds(error: str, kind: str) -> None:
    assert failure_kind(error) == kind


def test_routing_page_draws_the_replay_frontier_of_a_report_file(
    tracker: OutcomeTracker, tmp_path: Path
) -> None:
    import json

    from outcomes.routing._matrix import load_matrix
    from outcomes.routing._replay import replay
    from tests.routing.test_replay import write_matrix

    report = replay(load_matrix(write_matrix(tmp_path / "m.jsonl.gz")), seed=3,
                    cost_weights=(0.0, 0.5))  # fmt: skip
    path = tmp_path / "replay.json"
    path.write_text(json.dumps(report))
    with TestClient(create_dashboard_app(tracker, replay=path)) as c:
        data = c.get("/v1/dashboard/routing").json()["replay"]
        assert "outcomes" in data["policies"]
        assert set(data["single_models"]) == set(report["single_models"])
        html = c.get("/routing").text
        assert "quality/cost frontier" in html
        assert {"outcomes", "single models"} <= _series(html)
        path.write_text('{"policies": [{"name": "x", "cost_usd": "free"}]}')
        broken = c.get("/routing")
        assert broken.status_code == 200
        assert "cannot be read" in broken.text
        assert "cost_usd" in broken.text


def test_a_store_that_fails_gets_a_503_page_not_a_crash(tmp_path: Path) -> None:
    from outcomes.store import SQLiteStore

    store = SQLiteStore(tmp_path / "x.db")
    tracker = OutcomeTracker(store)
    app = create_dashboard_app(tracker)
    tracker.close()
    store.close()
    with TestClient(app) as c:
        for page in ("models", "routing", "trajectories"):
            r = c.get(f"/{page}")
            assert r.status_code == 503
            assert "The store cannot be read" in r.text
            data = c.get(f"/v1/dashboard/{page}")
            assert data.status_code == 503
            assert data.json()["error"]["code"] == "store_unavailable"


def test_every_page_says_which_filters_it_does_not_apply_and_why(client: TestClient) -> None:
    run_id = client.get("/v1/dashboard/trajectories").json()["runs"][0]["run_id"]
    everything = "since=30d&task=code&project=demo&tag=beta"
    paths = [*PAGES, "models/gpt-4o", f"trajectories/{run_id}"]
    for path in paths:
        data = client.get(f"/v1/dashboard/{path}?{everything}").json()
        scope = data["scope"]
        assert set(scope["applied"]) | set(scope["not_applied"]) == set(LABELS), path
        assert not set(scope["applied"]) & set(scope["not_applied"]), path
        assert len(data["notes"]) == len(scope["not_applied"]), path
        html = client.get(f"/{path}?{everything}").text
        assert html.count("(not applied here)") == len(scope["not_applied"]), path
        for name, why in scope["not_applied"].items():
            assert why
            assert any(n.startswith(f"{LABELS[name]} ") and why in n for n in data["notes"])
            assert html_escape(why) in html, (path, name)
        # the JSON call behind the page, with the same filters, is linked from it
        assert f'href="/v1/dashboard/{path}?{everything.replace("&", "&amp;")}"' in html, path
    applied = {p: client.get(f"/v1/dashboard/{p}").json()["scope"]["applied"] for p in PAGES}
    assert applied["models"] == list(LABELS)
    assert applied["calibration"] == []
    assert set(applied["trajectories"]) == {"since", "project"}


def test_the_navigation_keeps_the_filters(client: TestClient) -> None:
    html = client.get("/calibration?since=7d&task=code").text
    for page in PAGES:
        assert f'href="/{page}?since=7d&amp;task=code"' in html


def test_a_stale_report_is_served_while_one_thread_recomputes_it(tracker: OutcomeTracker) -> None:
    import threading

    from outcomes.server.dashboard._data import Source

    assert tracker.store is not None
    src = Source(tracker, tracker.store, lambda: 0.0)
    gate, calls = threading.Event(), []

    def report() -> int:
        calls.append(1)
        if len(calls) > 1:
            gate.wait(10)
        if len(calls) == 3:
            raise RuntimeError("store gone")
        return len(calls)

    assert src.cached("r", report, ttl=0.0) == 1  # the first call waits for the report
    assert src.cached("r", report, ttl=0.0) == 1  # stale: served, one refresh started
    assert src.cached("r", report, ttl=0.0) == 1  # still running: no second refresh
    assert len(calls) == 2
    gate.set()
    src.settle()
    assert src.cached("r", report, ttl=0.0) == 2  # the refreshed value; a third refresh fails
    src.settle()
    assert src.cached("r", report, ttl=3600.0) == 2  # the failure kept the old value
    age = src.age("r")
    assert age is not None
    assert 0.0 <= age < 60.0
    assert src.age("never") is None
    src.close()


def test_a_report_warming_up_answers_at_once_with_its_progress(
    tracker: OutcomeTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from outcomes.server.dashboard import _reports

    gate, started = threading.Event(), threading.Event()
    compute = _reports.REPORTS["conflicts"]

    def held(src: object) -> object:
        started.set()
        gate.wait(30)
        return compute(src)  # type: ignore[arg-type]

    monkeypatch.setitem(_reports.REPORTS, "conflicts", held)
    with TestClient(create_dashboard_app(tracker, warm_up=True)) as c:
        assert started.wait(10)  # the lifespan started it, before any call
        r = c.get("/v1/dashboard/components")
        assert r.status_code == 202
        assert r.headers["retry-after"] == "2"
        computing = r.json()["computing"]
        assert computing["report"] == "conflicts"
        assert 0.0 <= computing["seconds"] < 30.0
        html = c.get("/components?since=7d")
        assert html.status_code == 200
        assert '<meta http-equiv="refresh" content="2">' in html.text
        assert "conflicts report is being computed" in html.text
        assert 'href="/components?since=7d"' in html.text
        # Pages without a resampling report are not held up.
        assert c.get("/v1/dashboard/models").status_code == 200
        gate.set()
        for _ in range(100):
            r = c.get("/v1/dashboard/components")
            if r.status_code == 200:
                break
            threading.Event().wait(0.1)
        assert r.status_code == 200
        assert "pairs_tested" in r.json()["conflicts"]


def test_without_warm_up_the_first_call_computes_the_report(client: TestClient) -> None:
    r = client.get("/v1/dashboard/calibration")
    assert r.status_code == 200
    assert "groups" in r.json()
