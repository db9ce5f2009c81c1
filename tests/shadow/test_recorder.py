"""Recording, late labels, ordering, retention and the cached configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes._redact import redact
from outcomes.errors import ConfigError, ValidationError
from outcomes.shadow import (
    ConfidenceSignals,
    GcLoop,
    ShadowConfig,
    ShadowRecorder,
    seed_confidence,
    shadow_config,
)
from outcomes.store import BackgroundWriter, MemoryStore, Store
from outcomes.testing import FakeClock

from .conftest import NOW


class CountingEnv(dict[str, str]):
    """An environment that counts how often the shadow variables are looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.reads = 0

    def _count(self, key: str) -> None:
        if key.startswith("OUTCOMES_CONFIDENCE"):
            self.reads += 1

    def __getitem__(self, key: str) -> str:
        self._count(key)
        return super().__getitem__(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self._count(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._count(key)
        return super().__contains__(key)

    def shadow_reads(self) -> int:
        return self.reads


def test_environment_is_not_read_on_the_hot_path(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    env = CountingEnv(
        {
            **os.environ,
            "OUTCOMES_CONFIDENCE_SHADOW": "1",
            "OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE": "0.25",
        }
    )
    monkeypatch.setattr(os, "environ", env)
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig.from_env(), clock=clock)
    assert env.shadow_reads() == 2
    assert recorder.config == ShadowConfig(enabled=True, sample_rate=0.25)
    # The process-wide cache reads the environment at most once, then never again.
    shadow_config()
    after_first = env.shadow_reads()
    default_recorder = ShadowRecorder(MemoryStore(), clock=clock)
    for i in range(2_000):
        recorder.should_sample()
        recorder.observe(f"m{i}", "ns", "user", 0.5, derived_confidence=0.5)
        default_recorder.observe(f"m{i}", "ns", "user", 0.5, derived_confidence=0.5)
        shadow_config()
    assert env.shadow_reads() == after_first <= 4


def test_process_config_is_read_once_per_process() -> None:
    code = (
        "import json, os\n"
        "from outcomes.shadow import shadow_config\n"
        "a = shadow_config()\n"
        "os.environ['OUTCOMES_CONFIDENCE_SHADOW'] = '0'\n"
        "os.environ['OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE'] = '0.9'\n"
        "b = shadow_config()\n"
        "print(json.dumps([a.enabled, a.sample_rate, b.enabled, b.sample_rate, a is b]))\n"
    )
    env = dict(os.environ)
    env.update({"OUTCOMES_CONFIDENCE_SHADOW": "1", "OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE": "0.3"})
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [True, 0.3, True, 0.3, True]


def test_explicit_config_out_of_range_is_an_error() -> None:
    with pytest.raises(ConfigError):
        ShadowConfig(enabled=True, sample_rate=1.5)
    with pytest.raises(ConfigError):
        ShadowConfig(enabled=True, sample_rate=float("nan"))


def test_sampling_rate_is_honoured(clock: FakeClock) -> None:
    values = iter([i / 1000 for i in range(1000)])
    recorder = ShadowRecorder(
        MemoryStore(),
        config=ShadowConfig(enabled=True, sample_rate=0.3),
        clock=clock,
        uniform=lambda: next(values),
    )
    ids = [recorder.observe(f"m{i}", "ns", "user", 0.5) for i in range(1000)]
    assert sum(1 for i in ids if i is not None) == 300
    assert len(recorder.observations_since()) == 300


def test_disabled_shadow_mode_records_nothing(store: Store, clock: FakeClock) -> None:
    recorder = ShadowRecorder(store, config=ShadowConfig(enabled=False), clock=clock)
    assert recorder.observe("m1", "ns", "user", 0.9) is None
    assert recorder.observations_since() == []


def test_missing_caller_confidence_is_stored_as_missing(recorder: ShadowRecorder) -> None:
    obs_id = recorder.observe("m1", "ns", "user", None, ConfidenceSignals())
    (row,) = recorder.observations_since()
    assert row.id == obs_id
    assert row.caller_confidence is None
    assert row.derived_confidence == seed_confidence(ConfidenceSignals().as_dict())


def test_shadow_never_changes_the_callers_value(recorder: ShadowRecorder) -> None:
    signals = {"source_age_days": 400.0, "baseline_per_source": 0.1}
    before = dict(signals)
    caller = 0.93
    result = recorder.observe("m1", "ns", "user", caller, signals)
    assert isinstance(result, str)  # an id, never a replacement confidence
    assert signals == before
    (row,) = recorder.observations_since()
    assert row.caller_confidence == caller
    assert row.derived_confidence != caller


def test_recall_outcome_and_label_are_fillable_after_the_fact(
    recorder: ShadowRecorder, clock: FakeClock
) -> None:
    a = recorder.observe("m1", "ns", "user", 0.7, derived_confidence=0.6)
    b = recorder.observe("m2", "ns", "user", 0.4, derived_confidence=0.5)
    assert a
    assert b
    clock.advance(3600)
    assert recorder.set_recall_outcome(a, "recalled")
    assert recorder.set_recall_outcome(b, "skipped")
    assert recorder.label(a, True)
    assert recorder.label(b, False, recall_outcome="recalled")
    assert not recorder.label("no-such-id", True)
    rows = {o.id: o for o in recorder.observations_since()}
    assert (rows[a].recall_outcome, rows[a].outcome, rows[a].labeled_at) == (
        "recalled",
        True,
        NOW + 3600,
    )
    assert (rows[b].recall_outcome, rows[b].outcome) == ("recalled", False)


def test_observe_rejects_bad_recall_outcome_without_raising(recorder: ShadowRecorder) -> None:
    assert recorder.observe("m1", "ns", "user", 0.5, recall_outcome="maybe") is None
    assert recorder.dropped == 1
    with pytest.raises(ValidationError):
        recorder.record("m1", "ns", "user", 0.5, recall_outcome="maybe")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1, 1.01, "0.5", True])
def test_invalid_confidence_is_dropped_on_the_hot_path(bad: object, clock: FakeClock) -> None:
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True), clock=clock)
    assert recorder.observe("m1", "ns", "user", bad, derived_confidence=0.5) is None  # type: ignore[arg-type]
    assert recorder.observe("m1", "ns", "user", 0.5, derived_confidence=bad) is None  # type: ignore[arg-type]
    assert recorder.dropped == 2
    with pytest.raises(ValidationError, match="confidence"):
        recorder.record("m1", "ns", "user", bad)  # type: ignore[arg-type]


def test_failing_scorer_never_reaches_the_caller(clock: FakeClock) -> None:
    def broken(signals: Mapping[str, object]) -> float:
        raise RuntimeError("boom")

    recorder = ShadowRecorder(
        MemoryStore(), config=ShadowConfig(enabled=True), scorer=broken, clock=clock
    )
    assert recorder.observe("m1", "ns", "user", 0.5) is None
    assert recorder.dropped == 1


def test_pluggable_scorer_computes_the_derived_value(clock: FakeClock) -> None:
    recorder = ShadowRecorder(
        MemoryStore(),
        config=ShadowConfig(enabled=True),
        scorer=lambda s: float(s["hits"]) / 10,
        clock=clock,
    )
    recorder.observe("m1", "ns", "user", 0.5, {"hits": 7})
    assert recorder.observations_since()[0].derived_confidence == 0.7


def test_ids_are_time_ordered_and_reads_order_by_time_then_id(
    recorder: ShadowRecorder, clock: FakeClock
) -> None:
    ids = []
    for i in range(30):
        ids.append(recorder.observe(f"m{i}", "ns", "user", 0.5, derived_confidence=0.5))
        if i % 3 == 2:
            clock.advance(1)
    assert ids == sorted(ids)
    # Rows written out of time order come back in time order.
    late = recorder.record("old", "ns", "user", 0.5, derived_confidence=0.5, observed_at=NOW - 5)
    rows = recorder.observations_since("ns")
    assert rows[0].id == late
    keys = [(o.observed_at, o.id) for o in rows]
    assert keys == sorted(keys)
    assert [o.id for o in recorder.observations_since("ns", since=NOW + 5)] == ids[15:]


def test_background_writer_path_persists_after_flush(store: Store, clock: FakeClock) -> None:
    writer = BackgroundWriter(store)
    try:
        recorder = ShadowRecorder(
            store, config=ShadowConfig(enabled=True), clock=clock, writer=writer
        )
        ids = [recorder.observe(f"m{i}", "ns", "user", 0.5) for i in range(100)]
        assert recorder.label(ids[0], True)  # label flushes queued observations first
        assert len(recorder.observations_since()) == 100
    finally:
        writer.close()


def test_gc_removes_old_decisions_too(recorder: ShadowRecorder, clock: FakeClock) -> None:
    recorder.log_decision(
        "router", "cand", live_choice="a", live_propensity=0.5, candidate_choice="a"
    )
    clock.advance(31 * 86_400)
    recorder.log_decision(
        "router", "cand", live_choice="a", live_propensity=0.5, candidate_choice="b"
    )
    recorder.observe("m", "ns", "user", 0.5)
    assert recorder.gc_observations() == 1  # default 30 days: the first decision only


def test_gc_loop_sweeps_periodically_and_stops(clock: FakeClock) -> None:
    store = MemoryStore()
    recorder = ShadowRecorder(store, config=ShadowConfig(enabled=True), clock=clock)
    for i in range(5):
        recorder.record(f"m{i}", "ns", "user", 0.5, observed_at=NOW - 40 * 86_400)
    loop = recorder.start_gc_loop(retention_days=30, interval=0.01)
    deadline = time.monotonic() + 10
    while loop.runs < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    recorder.record("late", "ns", "user", 0.5, observed_at=NOW - 40 * 86_400)
    while loop.removed < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    assert not loop.running
    assert loop.removed == 6
    assert loop.failures == 0
    assert recorder.observations_since() == []


def test_gc_loop_survives_store_failures(clock: FakeClock) -> None:
    store = MemoryStore()
    ShadowRecorder(store, config=ShadowConfig(enabled=True), clock=clock)

    class Broken(MemoryStore):
        def delete(self, table: object, *, where: object = ()) -> int:  # type: ignore[override]
            raise RuntimeError("disk gone")

    loop = GcLoop(Broken(), interval=0.01, clock=clock)
    deadline = time.monotonic() + 10
    while loop.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    assert loop.failures >= 2
    with pytest.raises(ValidationError):
        GcLoop(store, interval=0)


@settings(max_examples=60, deadline=None)
@given(
    caller=st.one_of(st.none(), st.floats(0, 1)),
    derived=st.floats(0, 1),
    namespace=st.text(min_size=1, max_size=300),
    signals=st.dictionaries(st.text(max_size=20), st.one_of(st.integers(), st.text(max_size=50))),
)
def test_round_trip_or_clean_rejection(
    caller: float | None, derived: float, namespace: str, signals: dict[str, object]
) -> None:
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True))
    obs_id = recorder.observe("m", namespace, "src", caller, signals, derived_confidence=derived)
    if len(namespace) > 256:
        assert obs_id is None
        assert recorder.dropped == 1
        return
    (row,) = recorder.observations_since()
    assert (row.id, row.namespace, row.caller_confidence, row.derived_confidence) == (
        obs_id,
        namespace,
        caller,
        derived,
    )
    assert row.signals == {
        redact(k): redact(v) if isinstance(v, str) else v for k, v in signals.items()
    }


def test_record_rejects_a_non_finite_time(recorder: ShadowRecorder) -> None:
    with pytest.raises(ValidationError, match="observed_at"):
        recorder.record("m", "ns", "user", 0.5, observed_at=float("nan"))


def test_text_in_signals_is_scrubbed_and_capped(recorder: ShadowRecorder) -> None:
    key = "sk-" + "a" * 40
    recorder.observe("m", "ns", "user", 0.5, {"note": f"token {key}", "long": "x" * 5_000})
    (row,) = recorder.observations_since()
    assert key not in str(row.signals)
    assert len(row.signals["long"]) <= 257


@pytest.mark.parametrize(
    "signals",
    [{"age": float("nan")}, {"obj": object()}, {str(i): i for i in range(100)}],
)
def test_unstorable_signals_are_rejected(
    recorder: ShadowRecorder, signals: dict[str, object]
) -> None:
    assert recorder.observe("m", "ns", "user", 0.5, signals) is None
    with pytest.raises(ValidationError, match="signals"):
        recorder.record("m", "ns", "user", 0.5, signals)
