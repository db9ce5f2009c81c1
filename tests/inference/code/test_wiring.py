"""Both channels feed the inference tracker as idempotent signals (seed parity included)."""

from __future__ import annotations

from outcomes.inference import CodeAdoption, ConversationSignals, OutcomeTracker
from outcomes.inference.code import DEFAULT_TTL
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock
from tests.inference.code.conftest import Repo

BASE = "def area(r):\n    return 3.14159 * r * r\n"
SUGGESTION = "def perimeter(r):\n    doubled = 2 * r\n    return 3.14159 * doubled\n"


def suggested(
    repo: Repo, model: str, clock: FakeClock | None = None, ttl: float = DEFAULT_TTL
) -> tuple[OutcomeTracker, CodeAdoption]:
    """A tracker and code adoption on one store; ``BASE`` committed as ``geo.py``, then a
    completed ``code`` call of ``model`` that suggested ``SUGGESTION`` into it."""
    clock = clock if clock is not None else FakeClock()
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=clock)
    adoption = CodeAdoption(store, sink=tracker, clock=clock, ttl=ttl)
    repo.write("geo.py", BASE)
    repo.commit("base")
    trace = tracker.record_start(model, "code", "code")
    tracker.record_complete(trace, 500, 200, 100)
    adoption.suggest(trace, "geo.py", SUGGESTION, repo=repo.root)
    return tracker, adoption


def test_code_outcome_ground_truth_from_git(repo: Repo) -> None:
    # Seed test `code_outcome_ground_truth`, with git deciding instead of the caller.
    tracker, adoption = suggested(repo, "qwen/qwen3-4b:q4_k_m")
    repo.write("geo.py", BASE + SUGGESTION)
    repo.commit("adopt")
    adoption.check(repo.root)
    adoption.check(repo.root)
    profile = tracker.profile("qwen/qwen3-4b:q4_k_m")
    assert profile is not None
    assert profile.successes == 1
    assert abs(profile.ema_quality - 0.6) < 0.01  # 0.5 * 0.8 + 1.0 * 0.2, applied once


def test_ignored_suggestion_reclassifies_the_mechanical_success(repo: Repo) -> None:
    clock = FakeClock()
    tracker, adoption = suggested(repo, "m", clock, ttl=60)
    clock.advance(61)
    adoption.check(repo.root)
    profile = tracker.profile("m")
    assert profile is not None
    assert profile.successes == 0
    assert profile.failures == 1


def test_symbol_and_survival_findings_do_not_supersede_the_verdict(repo: Repo) -> None:
    tracker, adoption = suggested(repo, "m")
    repo.write("geo.py", BASE + SUGGESTION)
    repo.commit("adopt")
    adoption.check(repo.root)
    repo.write("geo.py", BASE)
    repo.commit("revert")
    findings = adoption.check(repo.root).findings
    assert [f.verdict for f in findings] == ["next_commit"]
    assert findings[0].confidence == 0.0
    profile = tracker.profile("m")
    assert profile is not None
    assert (profile.successes, profile.failures) == (1, 0)
    assert profile.quality == 1.0


def test_conversation_verdicts_reach_the_tracker_once() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    signals = ConversationSignals(tracker, store=store)
    trace = tracker.record_start("chat", "generate", "r")
    tracker.record_complete(trace, 100, 10, 20)
    for _ in range(3):
        signals.observe(trace, question="q?", response="a", next_message="That's wrong.")
    profile = tracker.profile("chat")
    assert profile is not None
    assert (profile.successes, profile.failures) == (0, 1)
    assert len(signals.recent()) == 1
    assert signals.recent()[0].verdict == "rejected"
