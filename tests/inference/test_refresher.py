"""The refresher thread: rebuilds off the caller's thread, rate-limited, survives errors,
stops, and starts afresh in a forked child."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from outcomes.inference._refresher import Refresher


def wait_for(cond: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_pokes_run_the_rebuild_on_its_own_thread_at_most_once_per_interval() -> None:
    threads: list[int] = []
    r = Refresher(lambda: threads.append(threading.get_ident()), 0.2, "test-refresher")
    r.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.7:
        r.poke()
        time.sleep(0.001)
    r.stop()
    # About 0.7 s / 0.2 s rebuilds however many pokes (hundreds) came in.
    assert 2 <= len(threads) <= 5
    assert threading.get_ident() not in threads


def test_without_pokes_it_still_rebuilds_every_interval() -> None:
    runs: list[float] = []
    r = Refresher(lambda: runs.append(time.monotonic()), 0.05, "test-refresher")
    r.start()
    assert wait_for(lambda: len(runs) >= 3)
    r.stop()


def test_a_failing_rebuild_is_logged_once_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def rebuild() -> None:
        calls.append(1)
        raise OSError("store unreachable")

    r = Refresher(rebuild, 0.02, "test-refresher")
    with caplog.at_level(logging.WARNING, logger="outcomes.inference"):
        r.start()
        assert wait_for(lambda: len(calls) >= 4)
        r.stop()
    assert len([m for m in caplog.messages if "store unreachable" in m]) == 1


def test_stop_ends_the_thread_and_it_does_not_start_again() -> None:
    r = Refresher(lambda: None, 0.01, "test-refresher-stop")
    r.start()
    assert r.running
    assert any(t.name == "test-refresher-stop" for t in threading.enumerate())
    r.stop()
    assert not r.running
    assert r.stopped
    assert not any(t.name == "test-refresher-stop" for t in threading.enumerate())
    r.start()
    assert not r.running


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_thread() -> None:
    runs: list[int] = []
    r = Refresher(lambda: runs.append(os.getpid()), 0.02, "test-refresher")
    r.start()
    assert wait_for(lambda: len(runs) >= 1)
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is gone; starting again must work
        code = 1
        try:
            if not r.running:
                r.start()
                code = 0 if wait_for(lambda: os.getpid() in runs, 5.0) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    r.stop()
    assert os.waitstatus_to_exitcode(status) == 0
