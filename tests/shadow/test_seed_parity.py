"""Every test of seed 004 (shadow confidence telemetry), ported, on every store."""

from __future__ import annotations

from outcomes.shadow import ConfidenceSignals, ShadowConfig, ShadowRecorder, shadow_config
from outcomes.store import Store
from outcomes.testing import FakeClock

SIGNALS = ConfidenceSignals(
    source_age_days=7.0,
    atom_derivation=False,
    prior_corroboration_count=2,
    freshness_factor=0.84,
    baseline_per_source=0.5,
)
YEAR_2020 = 1_577_836_800.0  # 2020-01-01T00:00:00Z


def test_observe_appends_row(recorder: ShadowRecorder) -> None:
    obs_id = recorder.observe("m1", "ns", "user", 0.9, SIGNALS, derived_confidence=0.6)
    assert obs_id
    rows = recorder.observations_since("ns", None)
    assert len(rows) == 1
    assert rows[0].id == obs_id
    assert rows[0].caller_confidence == 0.9
    assert rows[0].derived_confidence == 0.6
    assert rows[0].source == "user"
    assert rows[0].signals == SIGNALS.as_dict()
    assert rows[0].recall_outcome is None


def test_observations_filter_by_namespace(recorder: ShadowRecorder) -> None:
    recorder.observe("m1", "ns_a", "user", 0.9, SIGNALS, derived_confidence=0.6)
    recorder.observe("m2", "ns_b", "user", 0.8, SIGNALS, derived_confidence=0.5)
    a = recorder.observations_since("ns_a", None)
    assert [o.namespace for o in a] == ["ns_a"]
    assert len(recorder.observations_since(None, None)) == 2


def test_gc_observations_drops_old_rows_only(recorder: ShadowRecorder, store: Store) -> None:
    for _ in range(50):
        recorder.observe("m1", "ns", "user", 0.9, SIGNALS, derived_confidence=0.5)
    for _ in range(50):
        recorder.record("m1", "ns", "user", 0.9, {}, derived_confidence=0.5, observed_at=YEAR_2020)
    assert recorder.gc_observations(30) == 50
    assert len(recorder.observations_since(None, None)) == 50


def test_gc_observations_zero_retention_is_noop(recorder: ShadowRecorder) -> None:
    for _ in range(10):
        recorder.record("m1", "ns", "user", 0.9, {}, derived_confidence=0.5, observed_at=YEAR_2020)
    assert recorder.gc_observations(0) == 0
    assert recorder.gc_observations(-5) == 0
    assert len(recorder.observations_since(None, None)) == 10


def test_shadow_config_caches_on_first_call() -> None:
    a = shadow_config()
    b = shadow_config()
    assert a == b
    assert a is b


def test_shadow_config_from_env_reads_both_vars() -> None:
    cfg = ShadowConfig.from_env({})
    assert not cfg.enabled
    assert cfg.sample_rate == 1.0

    env = {
        "OUTCOMES_CONFIDENCE_SHADOW": "1",
        "OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE": "0.5",
    }
    cfg = ShadowConfig.from_env(env)
    assert cfg.enabled
    assert cfg.sample_rate == 0.5

    env["OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE"] = "2.0"
    assert ShadowConfig.from_env(env).sample_rate == 1.0
    env["OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE"] = "-1.0"
    assert ShadowConfig.from_env(env).sample_rate == 0.0
    env["OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE"] = "garbage"
    assert ShadowConfig.from_env(env).sample_rate == 1.0


def test_should_sample_uses_injected_uniform(store: Store, clock: FakeClock) -> None:
    half = ShadowRecorder(store, config=ShadowConfig(enabled=True, sample_rate=0.5), clock=clock)
    assert half.should_sample(0.0)
    assert half.should_sample(0.4999)
    assert not half.should_sample(0.5)
    assert not half.should_sample(0.99)
    off = ShadowRecorder(store, config=ShadowConfig(enabled=False, sample_rate=1.0), clock=clock)
    assert not off.should_sample(0.0)
    never = ShadowRecorder(store, config=ShadowConfig(enabled=True, sample_rate=0.0), clock=clock)
    assert not never.should_sample(0.0)
