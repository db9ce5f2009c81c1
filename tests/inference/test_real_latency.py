"""Real per-request latencies and errors of hosted LLM endpoints (llmperf), replayed as ingest
events: counts are exact, latency quantiles land within a histogram bucket of the truth,
and the real 429 bursts exclude the model and start a cooldown."""

from __future__ import annotations

import json
import statistics

import pytest

from outcomes.inference import OutcomeTracker, ingest_lines
from outcomes.stats import LATENCY_BUCKETS_S
from outcomes.testing import FakeClock
from tests.conftest import require_datasets


def bucket_of(seconds: float) -> int:
    return next(
        (i for i, b in enumerate(LATENCY_BUCKETS_S) if seconds <= b), len(LATENCY_BUCKETS_S)
    )


def events(run: str, rows: list[dict[str, object]]) -> list[str]:
    out = []
    for i, r in enumerate(rows):
        trace = f"{run}-{i}"
        base = {
            "trace_id": trace,
            "model_id": run,
            "task": "generate",
            "timestamp": 1_750_000_000 + i,
        }
        code = r["error_code"]
        if code is None:
            out.append(json.dumps({"event": "complete", **base,
                                   "latency_ms": float(r["end_to_end_latency_s"]) * 1000,  # type: ignore[arg-type]
                                   "input_tokens": r["number_input_tokens"],
                                   "output_tokens": r["number_output_tokens"]}))  # fmt: skip
        else:
            out.append(json.dumps({"event": "failure", **base, "error": f"HTTP {code}"}))
    return out


def test_llmperf_runs_replayed_through_ingest() -> None:
    folder = require_datasets() / "llmperf"
    files = sorted(folder.glob("*.json"))
    assert len(files) >= 10
    checked = 0
    errors: list[float] = []
    for path in files:
        rows = json.loads(path.read_text("utf-8"))
        run = path.stem
        clock = FakeClock(1_750_000_000.0)
        tracker = OutcomeTracker(clock=clock, strict=True)
        report = ingest_lines(tracker, events(run, rows))
        assert report.invalid == 0, report.problems[:3]
        p = tracker.profile(run)
        assert p is not None
        ok = [r for r in rows if r["error_code"] is None]
        limited = [r for r in rows if r["error_code"] == 429]
        assert p.calls == len(rows)
        assert p.failures == len(rows) - len(ok)
        assert p.input_tokens == sum(int(r["number_input_tokens"]) for r in ok)  # type: ignore[call-overload]
        assert tracker.is_excluded(run) == bool(limited)
        if limited:
            assert tracker.cooldown_until(run) is not None
        latencies = sorted(float(r["end_to_end_latency_s"]) for r in ok)  # type: ignore[arg-type]
        positive = [x for x in latencies if x > 0]
        if len(positive) < 10:
            continue
        for q, estimate in ((0.5, p.latency_p50_ms), (0.95, p.latency_p95_ms)):
            assert estimate is not None
            truth = statistics.quantiles(positive, n=100, method="inclusive")[int(q * 100) - 1]
            assert abs(bucket_of(estimate / 1000) - bucket_of(truth)) <= 1, (
                run,
                q,
                estimate,
                truth,
            )
            errors.append(abs(estimate / 1000 - truth) / truth)
        assert p.latency_mean_ms == pytest.approx(statistics.fmean(positive) * 1000, rel=1e-9)
        checked += 1
    assert checked >= 10
    # Buckets double in width, so an interpolated quantile is rough: measured on these
    # 19 runs, median relative error 6%, worst 32%.
    assert max(errors) <= 0.35
    assert statistics.median(errors) <= 0.10
