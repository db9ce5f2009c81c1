"""Routing decisions while another thread records calls as fast as it can.

Target (issue 13): with 11 candidates and a SQLite store, no decision takes 1 ms or more
while a recorder thread runs flat out (a decision never waits on I/O). The reference is
the same decisions with no recorder thread, measured in the same run: the phases
alternate in chunks, so that a busy spell of the shared machine slows them alike.

Every decision is timed twice: on the wall clock and on the deciding thread's CPU clock
(``time.thread_time_ns``). The CPU time is the router's own work (its pool rebuild after
a new snapshot included); the difference is time the thread was not running: waiting
for a lock, for I/O, or to be scheduled. The router takes no lock held during I/O and
does no I/O, so under load that difference is scheduling: CPython lets a thread that
wants the GIL wait up to ``sys.getswitchinterval()`` (5 ms by default) before it asks
the holder to let go, and the recorder, the writer and the snapshot refresher all want
it. The last phase repeats the loaded decisions with a switch interval of 0.1 ms (fixed
in advance, not tuned: small enough that three other runnable threads cannot add up to
1 ms) to show how much of the tail is the interpreter's scheduling.

Where the kernel exposes it (``/proc/self/task/<tid>/schedstat``), each decision also
records how long the deciding thread was runnable but waiting for a CPU (the OS
scheduler's run queue): the rest of wall minus CPU is time it slept, that is waited for
the GIL. A stand-in phase runs, under the same load, a pure-Python loop of about the
router's median CPU that touches no shared state: what it suffers is what any Python
code on that thread would (docs/architecture.md, "What made decisions wait").
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from resource import RUSAGE_THREAD, getrusage

from benchmarks._harness import Context
from benchmarks.bench_routing import seeded_models
from outcomes import OutcomeTracker
from outcomes.routing import Router, Weights
from outcomes.store import SQLiteStore

CANDIDATES = 11
SHORT_SWITCH_S = 1e-4


@dataclass
class Sample:
    """One decision: wall and thread-CPU ns, the thread's voluntary and involuntary
    context switches during it, ns of garbage collection it ran, whether it picked up
    a new profile snapshot (and rebuilt its candidate pools), and its run-queue wait."""

    wall: int
    cpu: int
    blocked: int
    preempted: int
    gc: int
    new_snapshot: bool
    runq: int = 0
    """ns runnable but waiting for a CPU (0 where the kernel does not tell)."""


@dataclass
class Phase:
    samples: list[Sample] = field(default_factory=list)

    def wall_us(self, p: float | None = None) -> float:
        walls = sorted(s.wall for s in self.samples)
        if p is None:
            return walls[-1] / 1000.0
        return walls[min(len(walls) - 1, int(p * len(walls)))] / 1000.0

    def median_us(self) -> float:
        return statistics.median(s.wall for s in self.samples) / 1000.0

    def slow(self) -> list[Sample]:
        return [s for s in self.samples if s.wall >= 1_000_000]

    def tail(self) -> str:
        """p50 / p99 / p99.9 / max and how many took 1 ms or more."""
        return (
            f"wall p50 {self.wall_us(0.5):.1f} / p99 {self.wall_us(0.99):.1f} / p99.9 "
            f"{self.wall_us(0.999):.0f} / max {self.wall_us():.0f} us, "
            f"{len(self.slow())} of {len(self.samples)} >= 1 ms"
        )

    def waits(self) -> str:
        """Where the wall time of the decisions of 1 ms or more went."""
        slow = self.slow()
        wall = sum(s.wall for s in slow)
        if not wall:
            return "no decision took 1 ms"
        cpu = sum(s.cpu for s in slow)
        # schedstat adds a wait when the thread gets a CPU back: it may have begun before
        # the decision did, so it is capped at what the decision spent off the CPU.
        runq = sum(min(s.runq, s.wall - s.cpu) for s in slow)
        gil = wall - cpu - runq
        return (
            f"their {wall / 1e6:.1f} ms: own CPU {cpu / 1e6:.1f} ms, waiting for a CPU (OS "
            f"run queue) {runq / 1e6:.1f} ms, waiting for the GIL {gil / 1e6:.1f} ms"
        )

    def own_us(self) -> float:
        """The router's own work at most: the thread CPU time of decisions that neither
        blocked, nor were preempted, nor ran the collector (a thread waiting for the GIL
        burns CPU too, waking every switch interval to ask for it)."""
        clean = [s.cpu for s in self.samples if not (s.blocked or s.preempted or s.gc)]
        return max(clean) / 1000.0

    def summary(self) -> str:
        slow = self.slow()
        why = {
            "blocked (waited for the GIL: the router takes no lock held during I/O)": sum(
                1 for s in slow if s.blocked
            ),
            "preempted by the OS": sum(1 for s in slow if s.preempted and not s.blocked),
            "ran the garbage collector": sum(1 for s in slow if s.gc),
            "picked up a new snapshot": sum(1 for s in slow if s.new_snapshot),
        }
        rebuilds = [s.cpu for s in self.samples if s.new_snapshot]
        cpu = sorted(s.cpu for s in self.samples)
        return (
            f"{self.tail()} ({self.waits()}); thread CPU median "
            f"{statistics.median(cpu) / 1000:.1f}"
            f" / max {cpu[-1] / 1000:.0f} us ({self.own_us():.0f} us when not blocked, "
            f"preempted or collecting); "
            f"{len(rebuilds)} snapshot pickups, CPU max "
            f"{max(rebuilds, default=0) / 1000:.0f} us; of the {len(slow)} >= 1 ms: "
            + ", ".join(f"{n} {k}" for k, n in why.items())
        )


def _setup(path: Path) -> tuple[OutcomeTracker, Router, list[str]]:
    tracker = OutcomeTracker(SQLiteStore(path))
    reg, names = seeded_models(CANDIDATES, tracker, 50)
    router = Router(registry=reg, tracker=tracker, weights=Weights(1.0, 0.3, 0.1), seed=1)
    return tracker, router, names


class RunQueue:
    """The calling thread's total run-queue wait in ns (``schedstat``; 0 where absent)."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open(
                f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY
            )
        except OSError:
            self._fd = None

    def __call__(self) -> int:
        return 0 if self._fd is None else int(os.pread(self._fd, 64, 0).split()[1])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def stand_in(loops: int) -> int:
    """A decision's stand-in: pure Python, no shared state, ``loops`` additions."""
    total = 0
    for i in range(loops):
        total += i
    return total


def _calibrate(router: Router) -> int:
    """Loops of :func:`stand_in` that take about the median idle decision (CPU)."""
    cpu = time.thread_time_ns
    decide = statistics.median(_cpu_of(lambda: router.decide("code"), cpu) for _ in range(2000))
    per_loop = statistics.median(_cpu_of(lambda: stand_in(1000), cpu) for _ in range(200)) / 1000
    return max(1, round(decide / per_loop))


def _cpu_of(fn: Callable[[], object], cpu: Callable[[], int]) -> int:
    c0 = cpu()
    fn()
    return cpu() - c0


def _decide(router: Router | Callable[[], object], n: int, into: Phase) -> None:
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    runq = RunQueue()
    me = threading.get_ident()
    decide = (lambda: router.decide("code")) if isinstance(router, Router) else router
    snapshot = (lambda: router._snapshot) if isinstance(router, Router) else (lambda: None)
    gc_ns = [0, 0]  # collector time in this thread so far, start of the running one

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() == me:
            if phase == "start":
                gc_ns[1] = wall()
            else:
                gc_ns[0] += wall() - gc_ns[1]

    gc.callbacks.append(on_gc)
    try:
        for _ in range(n):
            r0 = getrusage(RUSAGE_THREAD)
            g0, seen, q0 = gc_ns[0], snapshot(), runq()
            c0, w0 = cpu(), wall()
            decide()
            w1, c1 = wall(), cpu()
            q1 = runq()
            r1 = getrusage(RUSAGE_THREAD)
            into.samples.append(
                Sample(
                    w1 - w0, c1 - c0, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw,
                    gc_ns[0] - g0, snapshot() is not seen, q1 - q0,
                )
            )  # fmt: skip
    finally:
        gc.callbacks.remove(on_gc)
        runq.close()


class GcWatch:
    """The longest garbage collection in any thread while active, by generation, in ms of
    the collecting thread's CPU: the collector holds the GIL, so a decision on another
    thread waits at least that long whatever the switch interval."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started: dict[int, int] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        me = threading.get_ident()
        if phase == "start":
            self._started[me] = time.thread_time_ns()
            return
        start = self._started.pop(me, None)
        if start is not None:
            g = info["generation"]
            self.count[g] += 1
            self.longest[g] = max(self.longest[g], (time.thread_time_ns() - start) / 1e6)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        return ", ".join(
            f"gen {g}: {n} collections, longest {ms:.2f} ms"
            for g, (n, ms) in enumerate(zip(self.count, self.longest, strict=True))
        )


class Recorder:
    """A thread recording start + complete in a loop until stopped."""

    def __init__(self, tracker: OutcomeTracker, names: list[str]) -> None:
        self.tracker, self.names = tracker, names
        self.calls = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Recorder:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bench-recorder")
        self._thread.start()
        time.sleep(0.02)  # let it reach full speed
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        tracker, names, stop = self.tracker, self.names, self._stop
        n, t0 = 0, time.perf_counter()
        while not stop.is_set():
            t = tracker.record_start(names[n % len(names)], "code")
            tracker.record_complete(t, 120.0, 100, 50)
            n += 1
        self.calls += n
        self.seconds += time.perf_counter() - t0


def run(ctx: Context) -> None:
    rounds, chunk = (3, 500) if ctx.quick else (12, 2_000)
    idle, loaded, short, standin = Phase(), Phase(), Phase(), Phase()
    collections = GcWatch()
    default_switch = sys.getswitchinterval()
    with tempfile.TemporaryDirectory() as tmp:
        tracker, router, names = _setup(Path(tmp) / "load.db")
        _decide(router, chunk, Phase())  # warm-up
        loops = _calibrate(router)
        recorder = Recorder(tracker, names)
        snapshots_before = tracker.snapshot().receipts
        for _ in range(rounds):
            _decide(router, chunk, idle)
            with recorder, collections:
                _decide(router, chunk, loaded)
            with recorder:
                _decide(lambda: stand_in(loops), chunk, standin)
            sys.setswitchinterval(SHORT_SWITCH_S)
            try:
                with recorder:
                    _decide(router, chunk, short)
            finally:
                sys.setswitchinterval(default_switch)
        tracker.flush()
        folded = tracker.snapshot().receipts - snapshots_before
        dropped = tracker.dropped
        tracker.close()
    rate = recorder.calls / recorder.seconds if recorder.seconds else 0.0
    load = (
        f"recorder {rate:,.0f} calls/s ({recorder.calls:,} calls, {dropped:,} receipts dropped "
        f"by the full writer queue, {folded:,} folded into published snapshots meanwhile). "
        f"Garbage collections during the loaded phase, any thread, CPU: "
        f"{collections.summary()}"
    )
    base = f"{CANDIDATES} candidates, SQLite, recorder thread at full speed"
    ctx.report(
        f"decide max, {base}",
        loaded.wall_us(),
        "us",
        reference_name="max with no recorder thread",
        reference_value=idle.wall_us(),
        target=f"< 1000 us (switch interval {default_switch * 1000:.0f} ms)",
        passed=loaded.wall_us() < 1000.0,
        notes=f"loaded: {loaded.summary()}. idle: {idle.summary()}. {load}",
    )
    ctx.report(
        "a stand-in of the same CPU (pure Python, no shared state) under the same load, max",
        standin.wall_us(),
        "us",
        reference_name="the router's max under that load",
        reference_value=loaded.wall_us(),
        notes=f"stand-in of {loops} additions: {standin.tail()} ({standin.waits()}); "
        f"router: {loaded.tail()}",
    )
    ctx.report(
        "decide p99 under the same load",
        loaded.wall_us(0.99),
        "us",
        reference_name="p99 with no recorder thread",
        reference_value=idle.wall_us(0.99),
        notes=f"medians {loaded.median_us():.1f} vs {idle.median_us():.1f} us",
    )
    ctx.report(
        "the router's own work per decision under load (thread CPU), max",
        loaded.own_us(),
        "us",
        reference_name="max with no recorder thread",
        reference_value=idle.own_us(),
        target="< 1000 us (the decision itself never waits)",
        passed=loaded.own_us() < 1000.0,
        notes="over decisions that did not block, were not preempted and ran no garbage "
        "collection; wall minus CPU is time the deciding thread was not running",
    )
    ctx.report(
        f"decide max under load, switch interval {SHORT_SWITCH_S * 1000:.1f} ms",
        short.wall_us(),
        "us",
        reference_name=f"max at the default {default_switch * 1000:.0f} ms",
        reference_value=loaded.wall_us(),
        target="< 1000 us",
        passed=short.wall_us() < 1000.0,
        notes=short.summary(),
    )
