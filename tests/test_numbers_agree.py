"""A rate and the interval shown beside it never contradict each other, in any view:
the observed rate sits inside its (Wilson) interval, the posterior mean inside the
posterior interval, in the library, every --json report and every table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from outcomes import OutcomeTracker
from outcomes.components import ComponentStats, ComponentTracker
from outcomes.store import open_store
from outcomes.testing import cli

COUNTS = [(2, 0), (0, 2), (1, 0), (4, 1), (1, 4), (30, 1), (0, 1), (7, 3)]
SHOWN = re.compile(r"(\d+)% \[(\d+)-(\d+)\]")


def _inside(rate: float | None, interval: list[float] | tuple[float, float] | None) -> None:
    assert rate is not None
    assert interval is not None
    assert interval[0] <= rate <= interval[1]


def _record(tracker: OutcomeTracker, model: str, ok: int, bad: int) -> None:
    for _ in range(ok):
        tracker.record_complete(tracker.record_start(model, "code", "r"), 10.0, 1, 1)
    for _ in range(bad):
        tracker.record_failure(tracker.record_start(model, "code", "r"), "boom: 500")


@pytest.mark.parametrize(("ok", "bad"), COUNTS)
def test_model_profile_json_pairs_each_rate_with_its_interval(ok: int, bad: int) -> None:
    tracker = OutcomeTracker()
    _record(tracker, "m", ok, bad)
    profile = tracker.profile("m")
    assert profile is not None
    data = profile.to_json()
    _inside(data["success_rate"], data["success_interval"])
    _inside(data["success_mean"], data["posterior_interval"])


@pytest.mark.parametrize(("ok", "bad"), COUNTS)
def test_component_report_pairs_each_rate_with_its_interval(ok: int, bad: int) -> None:
    data = ComponentStats("c", successes=ok, failures=bad).report().to_json()
    _inside(data["success_rate"], data["success_interval"])
    _inside(data["posterior_mean"], data["posterior_interval"])


def test_every_cli_view_shows_rates_inside_their_intervals(outcomes_home: Path) -> None:
    assert cli.invoke(["init"]).exit_code == 0
    store = open_store()
    tracker = OutcomeTracker(store)
    components = ComponentTracker(store)
    for i, (ok, bad) in enumerate(COUNTS):
        _record(tracker, f"model-{i}", ok, bad)
        for _ in range(ok):
            components.record_outcome(f"pkg-{i}", "install_success")
        for _ in range(bad):
            components.record_outcome(f"pkg-{i}", "install_failure")
    tracker.close()
    components.close()
    store.close()
    for row in json.loads(cli.invoke(["models", "--json"]).output):
        _inside(row["success_rate"], row["success_interval"])
        _inside(row["success_mean"], row["posterior_interval"])
    for row in json.loads(cli.invoke(["components", "report", "--json"]).output):
        _inside(row["success_rate"], row["success_interval"])
        _inside(row["posterior_mean"], row["posterior_interval"])
    for args in (["models"], ["components", "report"]):
        shown = SHOWN.findall(cli.invoke([*args], terminal_width=200).output)
        assert len(shown) >= len(COUNTS) - 1, args
        for rate, low, high in shown:
            assert int(low) <= int(rate) <= int(high), (args, rate, low, high)
