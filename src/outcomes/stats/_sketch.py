"""A mergeable quantile sketch with a bounded relative error (DDSketch's log buckets).

A value ``x > 0`` falls in bucket ``i = ceil(log(x) / log(gamma))`` with
``gamma = (1 + a) / (1 - a)``; the bucket is reported as ``2 * gamma**i / (gamma + 1)``,
which is within ``a`` (relative) of every value the bucket holds. Any quantile read from
the sketch is therefore within ``a`` of the matching sample quantile, whatever the spread
of the values, which fixed bounds cannot promise (OpenTelemetry's doubling latency
buckets put a p95 up to 26% off on a realistic spread). Buckets are plain ``index ->
count`` pairs: sketches merge by adding counts, in any order, in Python or by ``SUM`` in
SQL. This is the algorithm of Masson, Rim and Lee, "DDSketch" (VLDB 2019), written here
because the reference package pulls protobuf along for a 100-line data structure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from outcomes._record import field, record
from outcomes.stats._buckets import (
    _LOG_GAMMA,
    MIN_VALUE,
    bucket_of,
    bucket_value,
    check_q,
    decode_buckets,
    quantiles_of,
)


class _Totals(Protocol):
    total: float
    n: int
    max_value: float


class Summary:
    """The exact count, total and maximum that every mergeable distribution here keeps
    (a :class:`LatencySketch`, a fixed-bounds ``Histogram``), and what follows from them.

    A mixin without slots of its own: the records that use it declare the fields."""

    __slots__ = ()

    def _merge_summary(self: _Totals, other: _Totals) -> None:
        self.total += other.total
        self.n += other.n
        self.max_value = max(self.max_value, other.max_value)

    @property
    def mean(self: _Totals) -> float | None:
        return self.total / self.n if self.n else None

    def _is_empty_at(self: _Totals, q: float) -> bool:
        """Check a quantile's ``q`` (0..1, else ``ValueError``); True when nothing was added."""
        check_q(q)
        return self.n <= 0


@record()
class LatencySketch(Summary):
    """Counts per log bucket, plus the exact count, total and maximum.

    ``buckets`` maps a bucket index to its count; ``zero`` counts values <=
    :data:`MIN_VALUE`. ``quantile`` has a relative error of at most
    :data:`RELATIVE_ACCURACY` against the sample quantile of rank ``q * (n - 1)``.
    """

    buckets: dict[int, int] = field(default_factory=dict)
    zero: int = 0
    total: float = 0.0
    n: int = 0
    max_value: float = 0.0

    def add(self, value: float, count: int = 1) -> None:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"sketch values must be finite and >= 0, got {value!r}")
        if value <= MIN_VALUE:
            self.zero += count
        else:
            i = math.ceil(math.log(value) / _LOG_GAMMA)
            b = self.buckets
            b[i] = b.get(i, 0) + count
        self.total += value * count
        self.n += count
        self.max_value = max(self.max_value, value)

    def merge(self, other: LatencySketch) -> None:
        b = self.buckets
        for i, c in other.buckets.items():
            b[i] = b.get(i, 0) + c
        self.zero += other.zero
        self._merge_summary(other)

    def copy(self) -> LatencySketch:
        return LatencySketch(dict(self.buckets), self.zero, self.total, self.n, self.max_value)

    def quantile(self, q: float) -> float | None:
        """Estimate the ``q`` quantile (0..1); ``None`` when empty."""
        if self._is_empty_at(q):
            return None
        rank = q * (self.n - 1)
        seen = self.zero
        if seen > rank:
            return 0.0
        for i in sorted(self.buckets):
            seen += self.buckets[i]
            if seen > rank:
                return min(bucket_value(i), self.max_value)
        return self.max_value

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """:meth:`quantile` of each of ``qs``, in one walk over the buckets (a
        leaderboard reads three of every model)."""
        return quantiles_of(self.buckets, self.zero, self.n, self.max_value, qs)

    def items(self) -> list[tuple[int, int]]:
        """(bucket, count) pairs with a non-zero count, by bucket."""
        items = sorted(self.buckets.items())
        return [x for x in items if x[1]] if 0 in self.buckets.values() else items

    def encode(self) -> str:
        """A compact text form, ``"i:c,i:c"`` by bucket (what a rollup row stores)."""
        return ",".join([f"{i}:{c}" for i, c in self.items()])

    @staticmethod
    def decode_buckets(text: str | None) -> dict[int, int]:
        """Parse :meth:`encode`'s text; raises ``ValueError`` naming what is wrong."""
        return decode_buckets(text)

    @classmethod
    def from_fixed(
        cls, bounds: Iterable[float], counts: Iterable[int], total: float, n: int, max_value: float
    ) -> LatencySketch:
        """Approximate a fixed-bucket histogram (a state saved before sketches): each
        bucket's count goes to the geometric middle of its bounds."""
        sketch = cls(total=total, n=n, max_value=max_value)
        low = 0.0
        edges = list(bounds)
        for k, c in enumerate(counts):
            if not c:
                low = edges[k] if k < len(edges) else low
                continue
            high = edges[k] if k < len(edges) else max(max_value, low)
            mid = math.sqrt(low * high) if low > 0 else high / 2.0
            if mid <= MIN_VALUE:
                sketch.zero += int(c)
            else:
                i = bucket_of(mid)
                sketch.buckets[i] = sketch.buckets.get(i, 0) + int(c)
            low = high
        return sketch

    def to_json(self) -> dict[str, object]:
        return {
            "buckets": self.encode(),
            "zero": self.zero,
            "total_s": self.total,
            "n": self.n,
            "max_s": self.max_value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LatencySketch:
        return cls(
            cls.decode_buckets(str(data.get("buckets") or "")),
            int(data.get("zero", 0)),  # type: ignore[call-overload]
            float(data.get("total_s", 0.0)),  # type: ignore[arg-type]
            int(data.get("n", 0)),  # type: ignore[call-overload]
            float(data.get("max_s", 0.0)),  # type: ignore[arg-type]
        )
