"""The JSON file API: atomic owner-only writes, faithful round trips, quarantine."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.components import ComponentEvent, ComponentTracker, OutcomeType
from outcomes.components._files import parse_event, read_events, write_events
from outcomes.errors import ValidationError
from outcomes.store import Store
from outcomes.testing import FakeClock, MemoryStore


def test_saved_files_are_owner_only_and_leave_no_temp_files(
    tracker: ComponentTracker, tmp_path: Path
) -> None:
    tracker.record_outcome("a", "install_success")
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "components.json"
    tracker.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["components.json"]
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == ("outcomes.components", 1)


def test_saving_over_an_existing_file_replaces_it_whole(
    tracker: ComponentTracker, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    tracker.record_outcome("a", "install_success")
    tracker.save(path)
    tracker.record_outcome("b", "install_failure")
    tracker.save(path)
    assert [e.component_id for e in read_events(path)] == ["a", "b"]


def test_loading_into_a_store_that_has_the_events_adds_nothing(
    tracker: ComponentTracker, tmp_path: Path
) -> None:
    tracker.record_outcome("a", "install_failure", session_id="s")
    path = tmp_path / "c.json"
    tracker.save(path)
    store = MemoryStore()
    ComponentTracker.load(path, store=store).close()
    with ComponentTracker.load(path, store=store) as again:
        stats = again.get_stats("a")
        assert stats is not None
        assert stats.failures == 1
    assert store.count(ComponentEvent.__table__) == 1


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[]",
        "null",
        '{"format": "something-else", "version": 1, "events": []}',
        '{"format": "outcomes.components", "version": 99, "events": []}',
        '{"format": "outcomes.components", "version": 1, "events": {}}',
        '{"format": "outcomes.components", "version": 1, "events": [1]}',
        '{"format": "outcomes.components", "version": 1, "events": [{"event_id": "e",'
        ' "component_id": "a", "outcome": "exploded", "timestamp": 1}]}',
        '{"format": "outcomes.components", "version": 1, "events": [{"event_id": "e",'
        ' "component_id": "", "outcome": "deprecated", "timestamp": 1}]}',
        '{"format": "outcomes.components", "version": 1, "events": [{"event_id": "e",'
        ' "component_id": "a", "outcome": "deprecated", "timestamp": "yesterday"}]}',
        '{"format": "outcomes.components", "version": 1, "events": [{"event_id": "e",'
        ' "component_id": "a", "outcome": "deprecated", "timestamp": NaN}]}',
        '{"format": "outcomes.components", "version": 1, "events": [{"event_id": "e",'
        ' "component_id": "a", "outcome": "deprecated", "timestamp": 1, "context": 5}]}',
    ],
)
def test_every_kind_of_bad_file_is_quarantined(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="outcomes.components"):
        assert read_events(path) == []
    (aside,) = tmp_path.glob("c.json.corrupt-*")
    assert aside.read_text() == content
    assert not path.exists()
    assert str(aside) in caplog.text


def test_an_older_tracker_file_is_kept_with_a_message_that_says_how_to_import_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tracker.json"
    seed = {
        "outcomes": {"a": {"component_id": "a", "install_successes": 1}},
        "recent_events": [],
        "max_recent_events": 1000,
    }
    path.write_text(json.dumps(seed))
    with caplog.at_level(logging.WARNING, logger="outcomes.components"):
        assert read_events(path) == []
    assert "outcomes import-legacy" in caplog.text
    assert not list(tmp_path.glob("tracker.json.corrupt-*"))
    assert json.loads(path.read_text()) == seed


def test_quarantine_never_overwrites_an_earlier_quarantined_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    for text in ("{", "[", "x"):
        path.write_text(text)
        read_events(path)
    assert sorted(p.read_text() for p in tmp_path.glob("c.json.corrupt-*")) == ["[", "x", "{"]


def test_a_torn_file_is_quarantined(tracker: ComponentTracker, tmp_path: Path) -> None:
    for i in range(20):
        tracker.record_outcome(f"c{i}", "install_success")
    path = tmp_path / "c.json"
    tracker.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert read_events(path) == []
    assert len(list(tmp_path.glob("c.json.corrupt-*"))) == 1


_labels = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs", "Cf", "Co", "Cn")),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.builds(
            ComponentEvent,
            event_id=_labels,
            component_id=_labels,
            outcome=st.sampled_from([o.value for o in OutcomeType]),
            timestamp=st.floats(min_value=0, max_value=4e9, allow_nan=False),
            session_id=st.one_of(st.none(), _labels),
            context=st.text(max_size=300),
        ),
        max_size=30,
        unique_by=lambda e: e.event_id,
    )
)
def test_write_then_read_gives_the_same_events(
    tmp_path: Path, events: list[ComponentEvent]
) -> None:
    """Events that would read back differently are refused whole, before writing (an
    id that looks like a credential, such as ``PASS=0``, or a label not in NFKC form);
    any other list reads back equal."""
    path = tmp_path / "round.json"
    try:
        parsed = [parse_event(e.to_json()) for e in events]
    except ValidationError:
        parsed = None
    if parsed != events:
        with pytest.raises(ValidationError):
            write_events(path, events)
        assert not path.exists()
        return
    assert write_events(path, events) == len(events)
    assert read_events(path) == events


def test_an_event_that_would_not_read_back_is_refused_and_the_saved_file_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.json"
    good = ComponentEvent("e1", "c1", "install_success", 1.0, None, "")
    write_events(path, [good])
    before = path.read_bytes()
    bad = ComponentEvent("PASS=0", "c1", "install_success", 2.0, None, "")
    with pytest.raises(ValidationError, match=r"events\[1\]"):
        write_events(path, [good, bad])
    assert path.read_bytes() == before
    assert read_events(path) == [good]
    assert not list(tmp_path.glob("c.json.corrupt-*"))


def test_a_tracker_round_trips_through_a_file_on_every_store(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    with ComponentTracker(MemoryStore(), clock=clock) as source:
        for i, outcome in enumerate(OutcomeType):
            source.record_outcome(f"c{i % 2}", outcome, "why", session_id=f"s{i}")
            clock.advance(1)
        path = tmp_path / "c.json"
        source.save(path)
        with ComponentTracker.load(path, store=store) as loaded:
            assert loaded.all_stats() == source.all_stats()
            assert list(loaded.events()) == list(source.events())
