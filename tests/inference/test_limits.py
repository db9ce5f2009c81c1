"""Rate-limit state: exclusions, cooldowns, Retry-After, and lock-free empty reads."""

from __future__ import annotations

from outcomes.inference._context import TrackerContext
from outcomes.inference._limits import RateLimits
from outcomes.testing import FakeClock


def limits(cooldown: float = 60.0) -> tuple[RateLimits, FakeClock]:
    clock = FakeClock(1000.0)
    return RateLimits(TrackerContext(clock, strict=False, late_window=0.0), cooldown), clock


def test_a_rate_limit_excludes_and_cools_down_for_the_hint_or_the_default() -> None:
    lim, clock = limits(cooldown=60.0)
    lim.note_failure("a", "429 Too Many Requests", None, clock.now())
    lim.note_failure("b", "RESOURCE_EXHAUSTED, retry after 5 s", None, clock.now())
    assert lim.is_excluded("a")
    assert lim.is_excluded("b")
    assert lim.cooldown_until("a") == 1060.0
    assert lim.cooldown_until("b") == 1005.0


def test_other_failures_cool_down_only_with_a_retry_after() -> None:
    lim, clock = limits()
    lim.note_failure("a", "500 internal error", None, clock.now())
    assert lim.current() == (frozenset(), {})
    lim.note_failure("a", "503 busy", 30.0, clock.now())
    assert not lim.is_excluded("a")
    assert lim.cooldown_until("a") == 1030.0


def test_a_new_cooldown_never_shortens_a_running_one() -> None:
    lim, clock = limits()
    lim.note_failure("a", "429", 100.0, clock.now())
    lim.note_failure("a", "429", 1.0, clock.now())
    assert lim.cooldown_until("a") == 1100.0


def test_nothing_limited_costs_shared_empty_values_and_passed_cooldowns_go() -> None:
    lim, clock = limits()
    (ex, cd), (ex2, cd2) = lim.current(), lim.current()
    assert ex is ex2
    assert cd is cd2
    assert not ex
    assert not cd
    lim.note_failure("a", "503", 10.0, clock.now())
    assert dict(lim.current()[1]) == {"a": 1010.0}
    clock.advance(11)
    assert lim.cooldown_until("a") is None
    assert lim.current() == (frozenset(), {})


def test_clear_lifts_one_model_or_all() -> None:
    lim, clock = limits()
    for m in ("a", "b"):
        lim.note_failure(m, "429", None, clock.now())
    lim.clear("a")
    assert not lim.is_excluded("a")
    assert lim.cooldown_until("a") is None
    assert lim.is_excluded("b")
    lim.clear()
    assert lim.current() == (frozenset(), {})
