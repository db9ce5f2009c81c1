"""``outcomes route`` decides on the stored history, not on priors alone."""

from __future__ import annotations

import json
from pathlib import Path

from outcomes.inference import OutcomeTracker
from outcomes.store import open_store
from outcomes.testing import cli


def test_route_reads_the_stored_outcomes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    store = open_store(db)
    tracker = OutcomeTracker(store)
    for model, ok in (("gpt-4o", 3), ("gpt-4o-mini", 40)):
        for i in range(ok + 3):
            t = tracker.record_start(model, "code")
            if i < ok:
                tracker.record_complete(t, 100.0, 10, 10)
            else:
                tracker.record_failure(t, "boom 500")
    tracker.close()
    store.close()
    args = ["route", "--task", "code", "--policy", "greedy", "--db", db, "--json"]
    result = cli.invoke([*args, "--model", "gpt-4o", "--model", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    counts = {c["model_id"]: (c["successes"], c["failures"]) for c in decision["candidates"]}
    assert counts["gpt-4o-mini"][0] > 39
    assert decision["model_id"] == "gpt-4o-mini"
