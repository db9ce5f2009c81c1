"""``with tracker.call(...)``, ``async with tracker.acall(...)``, ``@tracker.track``, threads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from outcomes import OutcomeTracker
from outcomes.inference import describe_error, usage_of
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock, receipts


class RateLimited(Exception):
    status_code = 429
    retry_after = 7.0


def test_call_block_records_timing_tokens_and_success() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    with tracker.call("m", "generate", "r", project_id="p") as call:
        call.set_usage(120, 40, cost_usd=0.002)
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.input_tokens, p.output_tokens, p.cost_usd) == (
        1, 1, 120, 40, 0.002,
    )  # fmt: skip
    assert p.latency_mean_ms is not None
    assert p.latency_mean_ms >= 0.0


def test_an_exception_is_recorded_as_failure_and_re_raised() -> None:
    clock = FakeClock()
    tracker = OutcomeTracker(clock=clock)
    with pytest.raises(RateLimited), tracker.call("m", "generate"):
        raise RateLimited("quota for prompt 'secret question' exhausted")
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.failures) == (1, 1)
    (receipt,) = tracker.drain_ledger()
    assert receipt.error == "RateLimited 429"
    assert "secret" not in (receipt.error or "")
    assert tracker.is_excluded("m")
    assert tracker.cooldown_until("m") == clock.now() + 7.0


def test_fail_marks_a_call_failed_without_raising() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    with tracker.call("m", "generate") as call:
        call.fail("provider returned 500", retry_after=None)
    p = tracker.profile("m")
    assert p is not None
    assert p.failures == 1


def test_async_call_and_async_decorator() -> None:
    tracker = OutcomeTracker(clock=FakeClock())

    @tracker.track("m", "classify")
    async def classify() -> SimpleNamespace:
        await asyncio.sleep(0)
        return SimpleNamespace(usage=SimpleNamespace(input_tokens=10, output_tokens=2))

    async def main() -> None:
        async with tracker.acall("m", "classify") as call:
            call.set_usage(5, 1)
        await classify()
        with pytest.raises(ValueError, match="boom"):
            async with tracker.acall("m", "classify"):
                raise ValueError("boom")

    asyncio.run(main())
    p = tracker.profile("m", task="classify")
    assert p is not None
    assert (p.calls, p.successes, p.failures, p.input_tokens) == (3, 2, 1, 15)


def test_sync_decorator_reads_openai_shaped_usage_and_keeps_the_result() -> None:
    tracker = OutcomeTracker(clock=FakeClock())

    @tracker.track("gpt-4o-mini", "generate")
    def ask(x: int) -> dict[str, object]:
        return {"answer": x, "usage": {"prompt_tokens": 9, "completion_tokens": 3}}

    assert ask(4)["answer"] == 4
    assert ask.__name__ == "ask"
    p = tracker.profile("gpt-4o-mini")
    assert p is not None
    assert (p.successes, p.input_tokens, p.output_tokens) == (1, 9, 3)
    assert p.cost_usd == pytest.approx((9 * 0.15 + 3 * 0.60) / 1e6)


def test_usage_and_error_helpers() -> None:
    assert usage_of(object()) is None
    assert usage_of({"usage": {"input_tokens": 3}}) == (3, 0)
    err, retry = describe_error(RuntimeError("RESOURCE_EXHAUSTED: try later"))
    assert (err, retry) == ("RuntimeError RESOURCE_EXHAUSTED", None)
    resp = SimpleNamespace(headers={"retry-after": "12"})
    exc = RuntimeError("x")
    exc.response = resp  # type: ignore[attr-defined]
    assert describe_error(exc) == ("RuntimeError", 12.0)


def test_recording_from_many_threads_loses_nothing() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store)

    def work() -> None:
        for _ in range(500):
            t = tracker.record_start("m", "code", "r")
            tracker.record_complete(t, 10.0, 1, 1)
            tracker.record_inferred_outcome(t, "rejected", 0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    tracker.flush()
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (4000, 0, 4000)
    assert len(receipts(store)) == 8000
    tracker.close()


def test_close_flushes_but_never_closes_a_writer_it_was_given() -> None:
    from outcomes.store import BackgroundWriter

    store = MemoryStore()
    writer = BackgroundWriter(store)
    tracker = OutcomeTracker(store, writer=writer)
    t = tracker.record_start("m", "code")
    tracker.record_complete(t, 1.0, 1, 1)
    tracker.close()
    assert len(receipts(store)) == 1
    assert writer.submit(receipts(store)[0])  # still open
    writer.close()


def test_the_call_helpers_load_without_the_tracker() -> None:
    code = (
        "import sys, outcomes.inference._calls\n"
        "assert 'outcomes.inference._tracker' not in sys.modules, 'the tracker was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
