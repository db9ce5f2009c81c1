"""Model profiles: a mergeable summary folded from receipts, and the views read from it.

The state (:class:`OutcomeStats` per model, task and project) holds only counts, sums,
forward-decayed sums relative to a fixed epoch and latency sketches, so folding
receipts in any order, or merging states folded in other processes, gives the same
profile. A receipt that supersedes another takes back the old outcome (it carries it) and
books the new one. Derived numbers (posterior, interval, quantiles, cost per success) are
computed on read by :class:`~outcomes.inference.ModelProfile`. The state is core (the
stores' rollups are this same fold, kept per hour in the database); the wing re-exports it.

The earlier Rust tracker's exponential moving average of quality (alpha 0.2, prior 0.5)
depends on order, so it cannot be part of the mergeable state; it is kept as the field
``ema_quality``, folded in store order, because thresholds were tuned on it
(docs/compat.md).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from outcomes._record import field, record
from outcomes.stats._decay import DECAY_EPOCH, EMA_ALPHA, EMA_PRIOR, decayed_mean
from outcomes.stats._decay import logaddexp as _logaddexp
from outcomes.stats._sketch import LatencySketch

if TYPE_CHECKING:
    from outcomes.records import Receipt

RATE_LIMIT_FACTOR = 0.1
DEFAULT_HALF_LIFE_S = 14 * 86_400.0
COUNTS_HALF_LIFE_SHARE = 0.25
"""The decayed success and failure counts (what the router's forgetting reads) age with
this share of the state's half-life: 3.5 days at the default 14, while the decayed quality
(``outcomes models``) keeps the whole. In the replay over the development family the
router forgets best at a 1,000-decision half-life (with ``Router.change_z`` 3), a quarter
of the 4,000 decisions that 14 days stood for at ~290 decisions a day (docs/routing.md)."""
_LN2 = math.log(2.0)

Key = tuple[str, str, str | None]
"""(model_id, task, project_id)."""


def is_rate_limit(error: str | None) -> bool:
    """Whether an error text says the provider rate-limited the call: ``429`` or
    ``RESOURCE_EXHAUSTED`` (Google's code) anywhere in it."""
    return error is not None and ("429" in error or "RESOURCE_EXHAUSTED" in error)


@record()
class OutcomeStats:
    """Mergeable outcome statistics for one (model, task, project) cell."""

    calls: int = 0
    successes: int = 0
    failures: int = 0
    inconclusive: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)
    latency_ms_total: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    costed_calls: int = 0
    quality_n: int = 0
    quality_sum: float = 0.0
    # Forward-decayed quality sums in the log domain; removals go to the *_neg pair so
    # every field only ever grows by log-add-exp and merging is order-free.
    dw_pos: float = -math.inf
    dwq_pos: float = -math.inf
    dw_neg: float = -math.inf
    dwq_neg: float = -math.inf
    # Forward-decayed success and failure counts (log domain, same rule, at
    # COUNTS_HALF_LIFE_SHARE of the half-life): what the router's forgetting reads. States
    # saved before they existed load as -inf (unknown).
    ds_pos: float = -math.inf
    ds_neg: float = -math.inf
    df_pos: float = -math.inf
    df_neg: float = -math.inf
    last_at: float = 0.0

    def book(
        self, success: bool | None, quality: float | None, at: float, sign: int, h: float
    ) -> None:
        """Add (``sign=1``) or take back (``sign=-1``) one outcome; ``h`` is the state's
        half-life (the counts age with :data:`COUNTS_HALF_LIFE_SHARE` of it).

        ``success`` may be a SQL boolean read back as 0/1: only its truth and None-ness count.
        """
        if success is None:
            self.inconclusive += sign
        elif success:
            self.successes += sign
        else:
            self.failures += sign
        if success is not None:
            lw = (at - DECAY_EPOCH) / (h * COUNTS_HALF_LIFE_SHARE) * _LN2
            if success:
                if sign > 0:
                    self.ds_pos = _logaddexp(self.ds_pos, lw)
                else:
                    self.ds_neg = _logaddexp(self.ds_neg, lw)
            elif sign > 0:
                self.df_pos = _logaddexp(self.df_pos, lw)
            else:
                self.df_neg = _logaddexp(self.df_neg, lw)
        if quality is not None:
            self.quality_n += sign
            self.quality_sum += sign * quality
            lw = (at - DECAY_EPOCH) / h * _LN2
            if sign > 0:
                self.dw_pos = _logaddexp(self.dw_pos, lw)
                if quality > 0:
                    self.dwq_pos = _logaddexp(self.dwq_pos, lw + math.log(quality))
            else:
                self.dw_neg = _logaddexp(self.dw_neg, lw)
                if quality > 0:
                    self.dwq_neg = _logaddexp(self.dwq_neg, lw + math.log(quality))

    def merge(self, other: OutcomeStats) -> None:
        self.calls += other.calls
        self.successes += other.successes
        self.failures += other.failures
        self.inconclusive += other.inconclusive
        self.latency.merge(other.latency)
        self.latency_ms_total += other.latency_ms_total
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.costed_calls += other.costed_calls
        self.quality_n += other.quality_n
        self.quality_sum += other.quality_sum
        self.dw_pos = _logaddexp(self.dw_pos, other.dw_pos)
        self.dwq_pos = _logaddexp(self.dwq_pos, other.dwq_pos)
        self.dw_neg = _logaddexp(self.dw_neg, other.dw_neg)
        self.dwq_neg = _logaddexp(self.dwq_neg, other.dwq_neg)
        self.ds_pos = _logaddexp(self.ds_pos, other.ds_pos)
        self.ds_neg = _logaddexp(self.ds_neg, other.ds_neg)
        self.df_pos = _logaddexp(self.df_pos, other.df_pos)
        self.df_neg = _logaddexp(self.df_neg, other.df_neg)
        self.last_at = max(self.last_at, other.last_at)

    def copy(self) -> OutcomeStats:
        """An independent copy (equal to merging this cell into an empty one, about four
        times faster: snapshots copy every cell)."""
        return OutcomeStats(
            calls=self.calls, successes=self.successes, failures=self.failures,
            inconclusive=self.inconclusive, latency=self.latency.copy(),
            latency_ms_total=self.latency_ms_total, input_tokens=self.input_tokens,
            output_tokens=self.output_tokens, cost_usd=self.cost_usd,
            costed_calls=self.costed_calls, quality_n=self.quality_n,
            quality_sum=self.quality_sum, dw_pos=self.dw_pos, dwq_pos=self.dwq_pos,
            dw_neg=self.dw_neg, dwq_neg=self.dwq_neg, ds_pos=self.ds_pos, ds_neg=self.ds_neg,
            df_pos=self.df_pos, df_neg=self.df_neg, last_at=self.last_at,
        )  # fmt: skip

    @property
    def decayed_quality(self) -> float | None:
        """Time-decayed mean quality (recent outcomes weigh more); ``None`` without any."""
        return decayed_mean(
            self.quality_n, self.quality_sum, self.dw_pos, self.dwq_pos, self.dw_neg,
            self.dwq_neg,
        )  # fmt: skip

    def decayed_counts(self, now: float, half_life: float) -> tuple[float, float]:
        """(successes, failures) with each outcome weighted ``2 ** -(age / h)`` at ``now``,
        ``h`` = ``half_life`` (the state's) times :data:`COUNTS_HALF_LIFE_SHARE`: evidence
        ``h`` old counts half. Never more than the raw counts
        (outcomes stamped in the future, by a skewed clock, count as new); the raw counts
        when the state was saved before decayed counts existed."""
        if self.ds_pos == -math.inf and self.df_pos == -math.inf:
            return float(max(self.successes, 0)), float(max(self.failures, 0))
        ref = (now - DECAY_EPOCH) / (half_life * COUNTS_HALF_LIFE_SHARE) * _LN2

        def net(pos: float, neg: float, raw: int) -> float:
            if pos == -math.inf:
                return 0.0
            value = math.exp(pos - ref) - (math.exp(neg - ref) if neg != -math.inf else 0.0)
            return min(max(value, 0.0), float(max(raw, 0)))

        return (
            net(self.ds_pos, self.ds_neg, self.successes),
            net(self.df_pos, self.df_neg, self.failures),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "inconclusive": self.inconclusive,
            "latency": self.latency.to_json(),
            "latency_ms_total": self.latency_ms_total,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "costed_calls": self.costed_calls,
            "quality_n": self.quality_n,
            "quality_sum": self.quality_sum,
            "decay": [_num(self.dw_pos), _num(self.dwq_pos), _num(self.dw_neg), _num(self.dwq_neg)],
            # Not "decay_counts", the name of the counts at the whole half-life (before
            # COUNTS_HALF_LIFE_SHARE): a file with only those reads as if it had none.
            "decayed_counts": [
                _num(self.ds_pos),
                _num(self.ds_neg),
                _num(self.df_pos),
                _num(self.df_neg),
            ],
            "last_at": self.last_at,
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, half_life: float = DEFAULT_HALF_LIFE_S
    ) -> OutcomeStats:
        """Read a cell. A cell saved before decayed counts existed, or with counts decayed
        at the whole half-life (``decay_counts``, before :data:`COUNTS_HALF_LIFE_SHARE`),
        gets them as if all its outcomes had happened at its last update (they then age
        from there); one saved with fixed latency buckets gets a sketch with each bucket's
        count at its middle."""
        if "latency" in data:
            hist = LatencySketch.from_json(data["latency"])
        else:
            from outcomes.stats._summaries import LATENCY_BUCKETS_S  # states saved long ago

            hist = LatencySketch.from_fixed(
                LATENCY_BUCKETS_S,
                [int(c) for c in data["latency_counts"]],
                float(data["latency_total_s"]),
                int(data["latency_n"]),
                float(data["latency_max_s"]),
            )
        decay = [(-math.inf if v is None else float(v)) for v in data["decay"]]
        saved = data.get("decayed_counts")
        if saved is not None:
            counts = [(-math.inf if v is None else float(v)) for v in saved]
        else:
            h = half_life * COUNTS_HALF_LIFE_SHARE
            lw = (float(data["last_at"]) - DECAY_EPOCH) / h * _LN2
            ok, bad = int(data["successes"]), int(data["failures"])
            counts = [
                lw + math.log(ok) if ok > 0 else -math.inf,
                -math.inf,
                lw + math.log(bad) if bad > 0 else -math.inf,
                -math.inf,
            ]
        return cls(
            calls=int(data["calls"]),
            successes=int(data["successes"]),
            failures=int(data["failures"]),
            inconclusive=int(data["inconclusive"]),
            latency=hist,
            latency_ms_total=float(data["latency_ms_total"]),
            input_tokens=int(data["input_tokens"]),
            output_tokens=int(data["output_tokens"]),
            cost_usd=float(data["cost_usd"]),
            costed_calls=int(data["costed_calls"]),
            quality_n=int(data["quality_n"]),
            quality_sum=float(data["quality_sum"]),
            dw_pos=decay[0],
            dwq_pos=decay[1],
            dw_neg=decay[2],
            dwq_neg=decay[3],
            ds_pos=counts[0],
            ds_neg=counts[1],
            df_pos=counts[2],
            df_neg=counts[3],
            last_at=float(data["last_at"]),
        )


def _num(value: float) -> float | None:
    return None if value == -math.inf else value


@record()
class ProfileState:
    """Every model's statistics: the fold of a set of receipts.

    ``fold`` takes one receipt; ``merge`` adds a state folded elsewhere. Counts, token
    sums and histograms are exactly equal for any order or split; float sums agree up to
    rounding. ``ema``/``task_ema`` are the order-dependent ``ema_quality`` kept for the
    earlier tracker's callers (docs/compat.md).
    """

    half_life: float = DEFAULT_HALF_LIFE_S
    parts: dict[Key, OutcomeStats] = field(default_factory=dict)
    ema: dict[str, float] = field(default_factory=dict)
    task_ema: dict[tuple[str, str], float] = field(default_factory=dict)
    receipts: int = 0

    def _cell(self, key: Key) -> OutcomeStats:
        st = self.parts.get(key)
        if st is None:
            st = self.parts[key] = OutcomeStats()
        return st

    def fold(self, r: Receipt) -> None:
        """Fold one receipt into the state."""
        self.fold_values(*fold_values_of(r))

    def fold_values(
        self,
        model_id: str,
        task: str,
        project_id: str | None,
        timestamp: float,
        success: bool | None,
        quality: float | None,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
        error: str | None,
        source: str,
        supersedes: str | None,
        superseded_success: bool | None,
        superseded_quality: float | None,
        superseded_at: float | None,
    ) -> None:
        """Fold one receipt given as values (the fast path for rows streamed from SQL).

        The parameters are receipt fields by name, in this order: :data:`FOLD_FIELDS`
        is read from this signature, and the store's fold query selects those columns.
        """
        h = self.half_life
        st = self.parts.get((model_id, task, project_id))
        if st is None:
            st = self.parts[(model_id, task, project_id)] = OutcomeStats()
        self.receipts += 1
        st.last_at = max(st.last_at, timestamp)
        if supersedes is None:
            st.calls += 1
            if latency_ms > 0:
                st.latency.add(latency_ms / 1000.0)
                st.latency_ms_total += latency_ms
            st.input_tokens += input_tokens
            st.output_tokens += output_tokens
            if cost_usd is not None:
                st.cost_usd += cost_usd
                st.costed_calls += 1
        else:
            at = superseded_at if superseded_at is not None else timestamp
            st.book(superseded_success, superseded_quality, at, -1, h)
        st.book(success, quality, timestamp, 1, h)
        self.fold_ema(model_id, task, success, quality, error, source)

    def fold_ema(
        self,
        model_id: str,
        task: str,
        success: bool | None,
        quality: float | None,
        error: str | None,
        source: str,
    ) -> None:
        """Fold one receipt into ``ema_quality`` only (what a rollup keeps in store order)."""
        # ema_quality for the earlier tracker's callers: order-dependent by definition.
        if quality is not None:
            self.ema[model_id] = (
                self.ema.get(model_id, EMA_PRIOR) * (1 - EMA_ALPHA) + quality * EMA_ALPHA
            )
            tk = (model_id, task)
            self.task_ema[tk] = (
                self.task_ema.get(tk, EMA_PRIOR) * (1 - EMA_ALPHA) + quality * EMA_ALPHA
            )
        elif success is not None and not success and source == "failure":
            factor = RATE_LIMIT_FACTOR if is_rate_limit(error) else 1 - EMA_ALPHA
            self.ema[model_id] = self.ema.get(model_id, EMA_PRIOR) * factor
            tk = (model_id, task)
            self.task_ema[tk] = self.task_ema.get(tk, EMA_PRIOR) * factor

    def fold_all(self, receipts: Iterable[Receipt]) -> ProfileState:
        for r in receipts:
            self.fold(r)
        return self

    def merge(self, other: ProfileState) -> None:
        """Add a state folded elsewhere (EMA: the other's value wins where it has one)."""
        if other.half_life != self.half_life:
            raise ValueError("cannot merge profile states with different half-lives")
        for key, st in other.parts.items():
            self._cell(key).merge(st)
        self.ema.update(other.ema)
        self.task_ema.update(other.task_ema)
        self.receipts += other.receipts

    def replace_model(self, model_id: str, other: ProfileState) -> None:
        """Replace everything known about ``model_id`` with ``other``'s cells for it."""
        for key in [k for k in self.parts if k[0] == model_id]:
            del self.parts[key]
        for tk in [k for k in self.task_ema if k[0] == model_id]:
            del self.task_ema[tk]
        self.ema.pop(model_id, None)
        for key, st in other.parts.items():
            if key[0] == model_id:
                self.parts[key] = st.copy()
        for tk, v in other.task_ema.items():
            if tk[0] == model_id:
                self.task_ema[tk] = v
        if model_id in other.ema:
            self.ema[model_id] = other.ema[model_id]

    def model_ids(self) -> list[str]:
        """Models with cells, or with only a quality average (an imported empty profile)."""
        return sorted({k[0] for k in self.parts} | self.ema.keys())

    def tasks(self, model_id: str | None = None) -> list[str]:
        return sorted({k[1] for k in self.parts if model_id is None or k[0] == model_id})

    def cells(
        self, model_id: str, task: str | None = None, project_id: str | None = None
    ) -> dict[str, OutcomeStats]:
        """Per-task stats of ``model_id`` (filtered), merged over projects."""
        out: dict[str, OutcomeStats] = {}
        for (m, t, p), st in self.parts.items():
            if m != model_id or (task is not None and t != task):
                continue
            if project_id is not None and p != project_id:
                continue
            if t in out:
                out[t].merge(st)
            else:
                out[t] = st.copy()
        return out

    def summary(self) -> dict[Key, tuple[int, ...]]:
        """The exact integer part of the state (for equality checks)."""
        return {
            k: (
                s.calls,
                s.successes,
                s.failures,
                s.inconclusive,
                s.input_tokens,
                s.output_tokens,
                s.quality_n,
                s.latency.n,
                s.costed_calls,
                s.latency.zero,
                *(x for pair in s.latency.items() for x in pair),
            )
            for k, s in sorted(
                self.parts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
            )
            if s.calls or s.successes or s.failures or s.inconclusive
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "half_life_s": self.half_life,
            "receipts": self.receipts,
            "cells": [
                {"model_id": m, "task": t, "project_id": p, **st.to_json()}
                for (m, t, p), st in self.parts.items()
            ],
            "ema": dict(self.ema),
            "task_ema": [[m, t, v] for (m, t), v in self.task_ema.items()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfileState:
        state = cls(half_life=float(data.get("half_life_s", DEFAULT_HALF_LIFE_S)))
        state.receipts = int(data.get("receipts", 0))
        for cell in data["cells"]:
            key = (str(cell["model_id"]), str(cell["task"]), cell.get("project_id"))
            state.parts[key] = OutcomeStats.from_json(cell, half_life=state.half_life)
        state.ema = {str(k): float(v) for k, v in data.get("ema", {}).items()}
        state.task_ema = {(str(m), str(t)): float(v) for m, t, v in data.get("task_ema", [])}
        return state


_FOLD_CODE = ProfileState.fold_values.__code__
# Read from the code object, not ``inspect.signature``: ``inspect`` alone costs a
# read-only command (``outcomes models --json``) a third of its start-up. That these are
# receipt fields is checked where the receipt is loaded anyway (``store._rollup_fold``).
FOLD_FIELDS: tuple[str, ...] = _FOLD_CODE.co_varnames[1 : _FOLD_CODE.co_argcount]
"""The receipt fields a fold reads, in :meth:`ProfileState.fold_values` order."""
fold_values_of = operator.attrgetter(*FOLD_FIELDS)
