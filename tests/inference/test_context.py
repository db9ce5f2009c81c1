"""The context the tracker's rooms share: the clock they read and how bad input is refused."""

from __future__ import annotations

import logging

import pytest

from outcomes.errors import ValidationError
from outcomes.inference._context import TrackerContext
from outcomes.testing import FakeClock


def test_a_new_clock_is_read_from_then_on() -> None:
    ctx = TrackerContext(FakeClock(1.0), strict=False, late_window=0.0)
    assert ctx.now() == 1.0
    ctx.clock = FakeClock(2.0)
    assert ctx.now() == 2.0


def test_strict_raises_a_validation_error_even_for_other_errors() -> None:
    ctx = TrackerContext(FakeClock(), strict=True, late_window=0.0)
    with pytest.raises(ValidationError):
        ctx.reject(TypeError("bad"), "input")


def test_lenient_warns_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    ctx = TrackerContext(FakeClock(), strict=False, late_window=0.0)
    with caplog.at_level(logging.WARNING, logger="outcomes.inference"):
        for _ in range(3):
            ctx.reject(ValueError("bad latency"), "record_complete")
        ctx.reject(ValueError("bad tokens"), "record_start")
    assert len(caplog.messages) == 2
