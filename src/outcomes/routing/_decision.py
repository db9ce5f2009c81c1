"""What a decision is and says: the chosen model, its reason, and (built only when asked)
every candidate's score parts or filter reason; plus the per-refresh candidate pool the
decision was drawn from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import msgspec
import numpy as np

from outcomes.errors import OutcomesError
from outcomes.registry import ModelInfo
from outcomes.routing._select import Prepared, Selection

MAX_REASON_CHARS = 120


class NoModelAvailable(OutcomesError, RuntimeError):
    """Every candidate was filtered out; ``decision.candidates`` says why for each."""

    def __init__(self, message: str, decision: Decision) -> None:
        super().__init__(message)
        self.decision = decision


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model in a decision: its score parts, or why it was filtered out."""

    model_id: str
    filtered: str | None = None
    """Why the model was not eligible (``None`` when it was scored)."""
    successes: float = 0.0
    failures: float = 0.0
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    quality: float | None = None
    cost_penalty: float | None = None
    latency_penalty: float | None = None
    score: float | None = None
    expected_cost_usd: float | None = None
    p95_latency_ms: float | None = None


_CANDIDATE_FIELDS = tuple(Candidate.__dataclass_fields__)
_CANDIDATE_DEFAULTS = tuple(f.default for f in Candidate.__dataclass_fields__.values())
"""Each field's default (the first, ``model_id``, has none and is always in a row)."""
_CandidateRow = msgspec.defstruct("_CandidateRow", [(name, Any) for name in _CANDIDATE_FIELDS])
"""A row of :class:`Candidate`'s fields as msgspec encodes it: the same JSON object as
the candidate's dict, built and encoded in C."""
_ENCODER = msgspec.json.Encoder()
_SCORED = _CANDIDATE_FIELDS.index("quality")
"""Where the fields of a selection (quality, cost and latency penalty, score) start."""
_SCORE_PARTS = 4
_Static = msgspec.defstruct("_Static", [(name, Any) for name in _CANDIDATE_FIELDS[:_SCORED]])
_Tail = msgspec.defstruct(
    "_Tail", [(name, Any) for name in _CANDIDATE_FIELDS[_SCORED + _SCORE_PARTS :]]
)
_KEYS = tuple(
    f',"{name}":'.encode() for name in _CANDIDATE_FIELDS[_SCORED + 1 : _SCORED + _SCORE_PARTS]
)
"""The keys between the selection figures (the quality's ends each pool's head)."""


class _Explain:
    """What a decision needs to explain itself, turned into candidates and fallbacks only
    when asked (the hot path never builds them)."""

    __slots__ = (
        "_cand", "_fb", "_rows", "chosen", "filtered", "pool", "propensities", "rest", "scored",
        "sel",
    )  # fmt: skip

    def __init__(
        self,
        pool: _Pool | None,
        scored: Sequence[int],
        sel: Selection | None,
        chosen: int,
        rest: Sequence[int],
        filtered: Sequence[tuple[Any, ...]],
        propensities: dict[int, float] | None = None,
    ) -> None:
        self.pool = pool
        self.propensities = propensities
        """The pool's memo of propensities by pick, when the decision used the pool's
        unblocked candidate set (their posteriors are fixed until the next refresh, so
        the probability of each pick is too)."""
        self.scored = scored
        """Pool positions of the scored arms, in selection order."""
        self.sel = sel
        self.chosen = chosen
        """Index into ``scored`` of the pick."""
        self.rest = rest
        """Pool positions of the degraded arms left as a last resort."""
        self.filtered = filtered
        """Unscored rows (model, reason, counts) of filtered and degraded models."""
        self._fb: tuple[str, ...] | None = None
        self._rows: list[tuple[Any, ...]] | None = None
        self._cand: tuple[Candidate, ...] | None = None

    def fallbacks(self) -> tuple[str, ...]:
        if self._fb is None:
            pool, sel = self.pool, self.sel
            if pool is None or sel is None:
                self._fb = ()
            else:
                score = sel.score
                order = sorted(range(len(self.scored)), key=score.__getitem__, reverse=True)
                ids = pool.ids
                self._fb = tuple(ids[self.scored[i]] for i in order if i != self.chosen) + tuple(
                    ids[j] for j in self.rest
                )
        return self._fb

    def rows(self) -> list[tuple[Any, ...]]:
        """Every candidate as a full row of :class:`Candidate`'s fields, in its order."""
        if self._rows is None:
            out: list[tuple[Any, ...]] = []
            pool, sel = self.pool, self.sel
            if pool is not None and sel is not None:
                for k, j in enumerate(self.scored):
                    parts = (
                        sel.quality[k],
                        sel.cost_penalty[k],
                        sel.latency_penalty[k],
                        sel.score[k],
                        pool.costs[j],
                        pool.p95s[j],
                    )
                    out.append(pool.rows[j] + parts)
            for row in self.filtered:
                out.append(row + _CANDIDATE_DEFAULTS[len(row) :])
            self._rows = out
        return self._rows

    def candidates(self) -> tuple[Candidate, ...]:
        if self._cand is None:
            self._cand = tuple(Candidate(*row) for row in self.rows())
        return self._cand

    def candidate_dicts(self) -> list[dict[str, Any]]:
        # Straight from the rows: building a frozen Candidate per model and reading it
        # back field by field cost more than the decision itself (POST /v1/route).
        return [dict(zip(_CANDIDATE_FIELDS, row, strict=True)) for row in self.rows()]

    def candidate_structs(self) -> list[Any]:
        return [_CandidateRow(*row) for row in self.rows()]

    def candidates_json(self) -> bytes:
        """The JSON array of :meth:`candidate_structs`, the same bytes, built from the
        pool's encoded frames (:func:`_frames`): per decision only the scored candidates'
        four selection figures are encoded (one call for all of them) and spliced in
        between, by iterators that run in C; the rest of each candidate is the same from
        one decision to the next (``POST /v1/route``)."""
        pool, sel = self.pool, self.sel
        scored = b""
        known: dict[int, bytes] = {}
        if pool is not None:
            frames = pool.frames if pool.frames is not None else _frames(pool)
            known = frames.unscored
            if sel is not None and self.scored:
                figures = (sel.quality, sel.cost_penalty, sel.latency_penalty, sel.score)
                # b"[[q0,q1],[c0,c1],...]": a number (or null) never holds "," or "]".
                q, c, lat, s = (
                    part.split(b",") for part in _ENCODER.encode(figures)[2:-2].split(b"],[")
                )
                kc, kl, ks = (repeat(key) for key in _KEYS)
                heads = map(frames.heads.__getitem__, self.scored)
                tails = map(frames.tails.__getitem__, self.scored)  # each ends with ","
                rows = zip(heads, q, kc, c, kl, lat, ks, s, tails, strict=False)  # keys repeat
                scored = b"".join(chain.from_iterable(rows))
        unscored = b",".join([known.get(id(row)) or _encode_unscored(row) for row in self.filtered])
        return b"[" + (scored + unscored if unscored else scored[:-1]) + b"]"


@dataclass(frozen=True)
class Decision:
    """What the router chose and why."""

    task: str
    model_id: str | None
    policy: str
    reason: str
    """A bounded routing reason for the tracker (never prompt text)."""
    degraded_fallback: bool = False
    """True when only degraded models were left and the best of them was used."""
    _explain: _Explain | None = field(default=None, repr=False, compare=False)

    @property
    def propensity(self) -> float:
        """Probability with which this policy picks ``model_id`` in this state (log it;
        computed on first access)."""
        ex = self._explain
        if ex is None or ex.sel is None:
            return 0.0
        memo = ex.propensities
        if memo is None:
            return ex.sel.propensity
        p = memo.get(ex.chosen)
        if p is None:
            p = memo[ex.chosen] = ex.sel.propensity
        return p

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Other eligible models, best first, then degraded ones, for retries."""
        return self._explain.fallbacks() if self._explain is not None else ()

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every candidate: the scored ones (in the order of the candidate list), then
        the filtered and degraded ones with their reasons."""
        return self._explain.candidates() if self._explain is not None else ()

    def as_dict(self) -> dict[str, Any]:
        ex = self._explain
        return self._head() | {"candidates": ex.candidate_dicts() if ex is not None else []}

    def to_json(self, **extra: Any) -> bytes:
        """:meth:`as_dict` with the keys of ``extra`` added, as JSON bytes (NaN and
        infinities become ``null``); the candidates are encoded straight from their rows,
        without building a dict per candidate first (``POST /v1/route``)."""
        ex = self._explain
        candidates = msgspec.Raw(ex.candidates_json()) if ex is not None else []
        return _ENCODER.encode(self._head() | {"candidates": candidates} | extra)

    def _head(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model_id": self.model_id,
            "policy": self.policy,
            "propensity": self.propensity,
            "fallbacks": list(self.fallbacks),
            "reason": self.reason,
            "degraded_fallback": self.degraded_fallback,
        }


@dataclass(slots=True)
class _Pool:
    """Candidates for one (task, tokens, constraints, candidate list) between two profile
    refreshes: everything about them that does not change from one decision to the next."""

    ids: list[str]
    rows: list[tuple[Any, ...]]
    """(model, reason, successes, failures, prior alpha, prior beta) per eligible model;
    reason is the degradation note for degraded ones."""
    alphas: list[float]
    betas: list[float]
    costs: list[float | None]
    p95s: list[float | None]
    ok: list[int]
    """Positions of the healthy eligible models."""
    degraded: list[int]
    static_filtered: list[tuple[Any, ...]]
    """Unscored rows of models filtered by task, context, cost or latency."""
    position: dict[str, int]
    ok_lists: tuple[list[float], list[float], list[float | None], list[float | None]]
    ok_arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    ok_prepared: Prepared | None = None
    cost_ref: float | None = None
    """The cost penalised by the whole cost weight: the dearest scored candidate's mean
    cost per call over all tasks (its list price before any call); ``None``: the
    dearest known cost among the candidates."""
    propensities: dict[int, float] = field(default_factory=dict)
    """Propensity of each pick from the unblocked set, filled as decisions read them."""
    ok_names: list[str] = field(default_factory=list)
    infos: list[ModelInfo | None] = field(default_factory=list)
    """The registry entries the pool was built from (``None`` for an unknown model): a
    decision compares them with the registry's current ones and rebuilds on a change."""
    gate: Any = None
    """``policy="elim"``: who is in the draw (:class:`~outcomes.routing._elim.Gate`),
    made on the first decision from the unblocked set."""
    frames: _Frames | None = None
    """The candidates' JSON around their selection figures (:func:`_frames`), made on
    the first answer encoded from the pool."""


@dataclass(frozen=True, slots=True)
class _Frames:
    """A pool's candidates as JSON fragments: ``heads[j] + quality + ... + score +
    tails[j]`` is the object of pool position ``j`` scored; ``unscored`` maps the id of
    each row of ``static_filtered`` (rows the pool keeps alive) to its object."""

    heads: list[bytes]
    tails: list[bytes]
    unscored: dict[int, bytes]


def _frames(pool: _Pool) -> _Frames:
    heads = [
        _ENCODER.encode(_Static(*row))[:-1] + b',"quality":' for row in pool.rows
    ]  # fmt: skip
    tails = [
        b"," + _ENCODER.encode(_Tail(cost, p95))[1:] + b","
        for cost, p95 in zip(pool.costs, pool.p95s, strict=True)
    ]  # fmt: skip
    unscored = {id(row): _encode_unscored(row) for row in pool.static_filtered}
    pool.frames = _Frames(heads, tails, unscored)
    return pool.frames


def _encode_unscored(row: tuple[Any, ...]) -> bytes:
    return _ENCODER.encode(_CandidateRow(*row, *_CANDIDATE_DEFAULTS[len(row) :]))


def _unscored(pool: _Pool, j: int, reason: str | None = None) -> tuple[Any, ...]:
    """The unscored candidate row of pool position ``j`` (with ``reason`` if given)."""
    model_id, note, s, f, a0, b0 = pool.rows[j]
    return (
        model_id,
        reason or note,
        s,
        f,
        a0,
        b0,
        None,
        None,
        None,
        None,
        pool.costs[j],
        pool.p95s[j],
    )


def _lists(
    pool: _Pool, positions: Sequence[int]
) -> tuple[list[float], list[float], list[float | None], list[float | None]]:
    return (
        [pool.alphas[j] for j in positions],
        [pool.betas[j] for j in positions],
        [pool.costs[j] for j in positions],
        [pool.p95s[j] for j in positions],
    )


@dataclass(slots=True)
class _Eligible:
    """Phase 1's answer for one decision: pool positions to score (healthy ones, or the
    degraded ones when no healthy one is left), the degraded ones kept as a last resort,
    the selection inputs, and the rows of models blocked right now."""

    scored: list[int]
    rest: list[int]
    lists: tuple[list[float], list[float], list[float | None], list[float | None]]
    dynamic: list[tuple[Any, ...]]
    used_degraded: bool
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    """The pool's prebuilt arrays when the whole healthy set is scored (large pools)."""
    prepared: Prepared | None = None
