"""People coming from the older tools bring their data: each format is recognised and
imported, and the old shadow variables still work with a warning naming the new ones."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from outcomes import OutcomeTracker
from outcomes.components import ComponentTracker
from outcomes.config import DEPRECATED, ENV_CONFIDENCE_SHADOW_SAMPLE_RATE
from outcomes.errors import ImportFormatError
from outcomes.legacy import LegacyFormat, detect_format, import_legacy
from outcomes.records import Receipt
from outcomes.shadow import ShadowConfig
from outcomes.store import SQLiteStore
from outcomes.testing import cli

PROFILES = [
    {
        "model_id": "qwen-7b",
        "total_calls": 10,
        "success_count": 7,
        "fail_count": 2,
        "total_latency_ms": 12_000,
        "total_input_tokens": 1_000,
        "total_output_tokens": 3_000,
        "task_stats": {
            "code": {"calls": 6, "successes": 5, "failures": 1, "avg_latency_ms": 1000.0,
                     "ema_quality": 0.7},
            "generate": {"calls": 4, "successes": 2, "failures": 1, "avg_latency_ms": 1500.0,
                         "ema_quality": 0.4},
        },
        "ema_quality": 0.62,
        "quality_per_1k_tokens": 0.155,
        "updated_at": 1_760_000_000,
    },
    {  # the oldest format: no token fields
        "model_id": "llama-3", "total_calls": 3, "success_count": 1, "fail_count": 2,
        "total_latency_ms": 900, "task_stats": {}, "ema_quality": 0.5, "updated_at": 1_750_000_000,
    },
]  # fmt: skip

LEDGER = [
    {"trace_id": "tr-1", "model_id": "qwen-7b", "task": "code", "routing_reason": "best q",
     "latency_ms": 1200, "input_tokens": 50, "output_tokens": 100, "success": True,
     "quality": 0.9, "timestamp": 1_760_000_000},
    {"trace_id": "tr-2", "model_id": "qwen-7b", "task": "generate", "routing_reason": "r",
     "latency_ms": 300, "input_tokens": 5, "output_tokens": 0, "success": False,
     "error": "boom: 500", "project_id": "p1", "intent": "chat", "timestamp": 1_760_000_100},
]  # fmt: skip

COMPONENTS = {
    "outcomes": {
        "pkg-a": {"component_id": "pkg-a", "install_successes": 3, "install_failures": 1,
                  "usage_count": 2, "removal_count": 0,
                  "first_seen": "2025-01-01T00:00:00Z", "last_success": "2025-02-01T00:00:00Z",
                  "last_failure": "2025-01-15T00:00:00Z"},
        "pkg-b": {"component_id": "pkg-b", "install_successes": 0, "install_failures": 4,
                  "usage_count": 0, "removal_count": 2,
                  "first_seen": "2025-01-02T00:00:00+00:00", "last_success": None,
                  "last_failure": "2025-01-20T00:00:00+00:00"},
    },
    "recent_events": [
        {"component_id": "pkg-a", "outcome_type": "install_success",
         "timestamp": "2025-02-01T00:00:00Z", "context": ""},
        {"component_id": "pkg-b", "outcome_type": "install_failure",
         "timestamp": "2025-01-20T00:00:00Z", "context": "conflict with pkg-a"},
        {"component_id": "pkg-b", "outcome_type": "deprecated",
         "timestamp": "2025-01-21T00:00:00Z", "context": ""},
    ],
    "max_recent_events": 1000,
}  # fmt: skip


def _write(tmp_path: Path) -> dict[LegacyFormat, Path]:
    profiles = tmp_path / "outcome_profiles.json"
    profiles.write_text(json.dumps(PROFILES, indent=2))
    ledger = tmp_path / "outcome_ledger.jsonl"
    ledger.write_text("".join(json.dumps(line) + "\n" for line in LEDGER))
    components = tmp_path / "component_outcomes.json"
    components.write_text(json.dumps(COMPONENTS, indent=2))
    return {
        LegacyFormat.PROFILES: profiles,
        LegacyFormat.LEDGER: ledger,
        LegacyFormat.COMPONENTS: components,
    }


def test_each_format_is_recognised(tmp_path: Path) -> None:
    for kind, path in _write(tmp_path).items():
        assert detect_format(path) is kind
    native = tmp_path / "native.jsonl"
    native.write_text(json.dumps({"v": 1, "receipt_id": "r"}) + "\n")
    with pytest.raises(ImportFormatError, match="ledger import"):
        detect_format(native)


def test_profiles_become_an_outcomes_profile_file_the_tracker_loads(tmp_path: Path) -> None:
    path = _write(tmp_path)[LegacyFormat.PROFILES]
    report = import_legacy(path)
    assert report.imported == 2
    assert report.written_to is not None
    tracker = OutcomeTracker()
    assert tracker.load_from_file(report.written_to) == 2
    qwen = tracker.profile("qwen-7b")
    assert qwen is not None
    assert (qwen.calls, qwen.successes, qwen.failures) == (10, 7, 2)
    assert (qwen.input_tokens, qwen.output_tokens) == (1_000, 3_000)
    assert qwen.ema_quality == pytest.approx(0.62)
    llama = tracker.profile("llama-3")
    assert llama is not None
    assert (llama.calls, llama.successes, llama.failures) == (3, 1, 2)
    assert (Path(report.written_to).stat().st_mode & 0o777) == 0o600


def test_loading_an_older_profile_file_directly_says_how_to_convert_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path)[LegacyFormat.PROFILES]
    with caplog.at_level(logging.WARNING):
        assert OutcomeTracker().load_from_file(path) == 0
    assert "outcomes import-legacy" in caplog.text
    assert path.exists()  # not quarantined: it is not corrupt
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_the_older_ledger_is_imported_once(tmp_path: Path) -> None:
    path = _write(tmp_path)[LegacyFormat.LEDGER]
    store = SQLiteStore(tmp_path / "o.db")
    first = import_legacy(path, store=store)
    assert (first.imported, first.invalid) == (2, 0)
    again = import_legacy(path, store=store)
    assert (again.imported, again.duplicates) == (0, 2)
    got = {r.trace_id: r for r in store.scan(Receipt.__table__)}
    assert got["tr-1"].success is True
    assert got["tr-1"].quality == pytest.approx(0.9)
    assert got["tr-1"].latency_ms == pytest.approx(1200.0)
    assert got["tr-2"].error == "boom: 500"
    assert (got["tr-2"].project_id, got["tr-2"].intent) == ("p1", "chat")
    assert {r.source for r in got.values()} == {"legacy"}
    store.close()


def test_the_component_file_gives_the_same_counts(tmp_path: Path) -> None:
    path = _write(tmp_path)[LegacyFormat.COMPONENTS]
    store = SQLiteStore(tmp_path / "o.db")
    report = import_legacy(path, store=store)
    assert report.invalid == 0
    tracker = ComponentTracker(store)
    a, b = tracker.get_stats("pkg-a"), tracker.get_stats("pkg-b")
    assert a is not None
    assert b is not None
    assert (a.successes, a.failures, a.usage_count, a.removal_count) == (3, 1, 2, 0)
    assert (b.successes, b.failures, b.removal_count) == (0, 4, 2)
    assert "pkg-b" in tracker.get_deprecated()
    tracker.close()
    again = import_legacy(path, store=store)
    assert again.imported == 0
    store.close()


def test_cli_import_legacy_for_every_format(outcomes_home: Path, tmp_path: Path) -> None:
    files = _write(tmp_path)
    for kind, path in files.items():
        result = cli.invoke(["import-legacy", str(path), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["format"] == kind.value
        assert report["imported"] > 0
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    result = cli.invoke(["import-legacy", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_bad_legacy_line_is_reported_without_echoing_secrets(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    secret = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    lines = [LEDGER[0], {**LEDGER[1], "latency_ms": f"{secret}"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    store = SQLiteStore(tmp_path / "o.db")
    report = import_legacy(path, store=store)
    assert (report.imported, report.invalid) == (1, 1)
    assert secret not in json.dumps(report.to_json())
    store.close()


@pytest.mark.parametrize("new", sorted(DEPRECATED))
def test_old_shadow_variables_work_with_a_warning_naming_the_new_one(new: str) -> None:
    old = DEPRECATED[new]
    value = "1" if new != ENV_CONFIDENCE_SHADOW_SAMPLE_RATE else "0.25"
    with pytest.warns(FutureWarning, match=new):
        config = ShadowConfig.from_env({old: value})
    if new == ENV_CONFIDENCE_SHADOW_SAMPLE_RATE:
        assert config.sample_rate == 0.25
    else:
        assert config.enabled
    # The new variable wins, silently.
    assert (
        ShadowConfig.from_env({old: "0", new: "1"}).enabled or new != "OUTCOMES_CONFIDENCE_SHADOW"
    )
