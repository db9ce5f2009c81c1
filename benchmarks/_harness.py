"""The reporting side of the benchmarks: results, ratios against a reference, targets."""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Result:
    """One measurement, optionally compared to a reference measured in the same run."""

    bench: str
    name: str
    value: float
    unit: str
    reference_name: str | None = None
    reference_value: float | None = None
    target: str | None = None
    passed: bool | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference_value in (None, 0) or self.value == 0:
            return None
        assert self.reference_value is not None
        return self.value / self.reference_value

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


@dataclass
class Context:
    """Passed to every ``run``; ``quick`` asks for smaller sizes (used by the test suite)."""

    quick: bool = False
    sizes: list[int] | None = None
    """``--n``: sizes for the benchmarks that take them (``None``: their defaults)."""
    results: list[Result] = field(default_factory=list)
    current: str = ""

    def report(self, name: str, value: float, unit: str, **kwargs: Any) -> Result:
        result = Result(bench=self.current, name=name, value=value, unit=unit, **kwargs)
        self.results.append(result)
        return result


def median_ns(fn: Callable[[], object], *, repeat: int = 7, number: int = 10_000) -> float:
    """Median over ``repeat`` runs of the mean time of ``fn`` over ``number`` calls, in ns."""
    samples = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter_ns() - start) / number)
    finally:
        if gc_was:
            gc.enable()
    return statistics.median(samples)


def per_call_samples_ns(fn: Callable[[], object], *, n: int = 20_000) -> list[int]:
    """Time each of ``n`` calls separately (for medians of single operations), in ns."""
    out = []
    clock = time.perf_counter_ns
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(n):
            t0 = clock()
            fn()
            out.append(clock() - t0)
    finally:
        if gc_was:
            gc.enable()
    return out


def traced_peak(fn: Callable[[], T]) -> tuple[int, T, float]:
    """Run ``fn`` once under tracemalloc after a full collection: (peak bytes, its
    result, seconds). Tracing slows the run; use the seconds only against another
    traced run."""
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    try:
        result = fn()
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result, elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
