"""Recording shadow observations and shadow decisions, labeling them later, retention."""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import new_id
from outcomes._redact import redact, refuse_secret
from outcomes.errors import ValidationError
from outcomes.shadow._config import DEFAULT_RETENTION_DAYS, ShadowConfig, shadow_config
from outcomes.shadow._records import (
    ConfidenceSignals,
    RecallOutcome,
    ShadowDecision,
    ShadowObservation,
)
from outcomes.shadow._schema import MIGRATIONS
from outcomes.shadow._scorers import Scorer, seed_confidence
from outcomes.store import BackgroundWriter, FlushResult, Store

logger = logging.getLogger("outcomes.shadow")

_OBS = ShadowObservation.__table__
_DEC = ShadowDecision.__table__
_DAY = 86_400.0
_RECALL_VALUES = frozenset(o.value for o in RecallOutcome)


def _probability(value: Any, name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"must be a number in [0, 1], got {value!r}", where=name)
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ValidationError(f"must be a finite number in [0, 1], got {value!r}", where=name)
    return number


def _recall(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in _RECALL_VALUES:
        raise ValidationError(
            f"must be one of {sorted(_RECALL_VALUES)} or None, got {value!r}",
            where="recall_outcome",
        )
    return str(value)


def _label(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ValidationError("must be a non-empty string of <= 256 chars", where=name)
    return refuse_secret(value, name)


MAX_SIGNALS = 64
"""Most keys a signals mapping may have (bounds the size of a stored row)."""


def _clean(value: Any, depth: int = 0) -> Any:
    # Signals are meant to be numbers and flags; any text in them is free text, so it is
    # scrubbed and capped like every other free text that reaches storage.
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"must be finite, got {value!r}", where="signals")
        return value
    if depth < 3 and isinstance(value, list | tuple) and len(value) <= MAX_SIGNALS:
        return [_clean(v, depth + 1) for v in value]
    if depth < 3 and isinstance(value, Mapping) and len(value) <= MAX_SIGNALS:
        return {redact(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    raise ValidationError(
        f"must hold numbers, flags, short text, or small lists/mappings of them; "
        f"got {type(value).__name__}",
        where="signals",
    )


def _when(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"must be finite Unix seconds, got {value!r}", where="observed_at")
    return float(value)


def observations_since(
    store: Store, namespace: str | None = None, since: float | None = None
) -> list[ShadowObservation]:
    """Every observation in ``namespace`` (all when None) observed at or after ``since``.

    Ordered by ``observed_at``, then by id (ids are time-ordered), for stable replays.
    """
    where: list[Any] = []
    if namespace is not None:
        where.append(("namespace", "=", namespace))
    if since is not None:
        where.append(("observed_at", ">=", float(since)))
    rows = list(store.scan(_OBS, where=where, order_by="observed_at"))
    rows.sort(key=lambda o: (o.observed_at, o.id))
    return rows


def gc_observations(
    store: Store,
    retention_days: float = DEFAULT_RETENTION_DAYS,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Delete observations and decisions older than ``retention_days``; returns how many.

    ``retention_days <= 0`` keeps everything forever and returns 0.
    """
    if not isinstance(retention_days, int | float) or not math.isfinite(retention_days):
        raise ValidationError(
            f"must be a finite number, got {retention_days!r}", where="retention_days"
        )
    if retention_days <= 0:
        return 0
    cutoff = clock.now() - float(retention_days) * _DAY
    removed = store.delete(_OBS, where=[("observed_at", "<", cutoff)])
    removed += store.delete(_DEC, where=[("decided_at", "<", cutoff)])
    return removed


class GcLoop:
    """A daemon thread that runs :func:`gc_observations` every ``interval`` seconds.

    Errors are logged and counted (``failures``), never raised; ``stop()`` ends the loop
    and waits for it. ``runs`` and ``removed`` count completed sweeps and deleted rows.
    """

    def __init__(
        self,
        store: Store,
        *,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        interval: float = 3_600.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not (isinstance(interval, int | float) and math.isfinite(interval) and interval > 0):
            raise ValidationError(f"must be > 0 seconds, got {interval!r}", where="interval")
        self._store = store
        self._retention_days = retention_days
        self._interval = float(interval)
        self._clock = clock
        self._stop = threading.Event()
        self.runs = 0
        self.removed = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="outcomes-shadow-gc", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.removed += gc_observations(
                    self._store, self._retention_days, clock=self._clock
                )
                self.runs += 1
            except Exception:
                self.failures += 1
                logger.exception("shadow GC sweep failed")
            self._stop.wait(self._interval)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop and wait up to ``timeout`` seconds for the thread to end."""
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class ShadowRecorder:
    """Records a derived confidence next to the caller's, without ever changing it.

    ``config`` defaults to :func:`~outcomes.shadow.shadow_config` (environment, read
    once per process) and is captured here: :meth:`observe` never reads the environment.
    ``scorer`` computes the derived confidence from the signals when none is given
    (default: :func:`~outcomes.shadow.seed_confidence`). With ``writer`` the hot path only
    queues records; without, it writes synchronously. ``uniform`` draws the sampling
    number (inject a seeded one in tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        config: ShadowConfig | None = None,
        scorer: Scorer = seed_confidence,
        clock: Clock = SYSTEM_CLOCK,
        writer: BackgroundWriter | None = None,
        uniform: Callable[[], float] = random.random,
    ) -> None:
        store.migrate(MIGRATIONS)
        self._store = store
        self.config = config if config is not None else shadow_config()
        self._enabled = self.config.enabled
        self._rate = self.config.sample_rate
        self._scorer = scorer
        self._clock = clock
        self._writer = writer
        self._uniform = uniform
        self.dropped = 0
        """Observations not recorded because of invalid input, a failing scorer or store."""

    @property
    def store(self) -> Store:
        return self._store

    def should_sample(self, uniform_0_1: float | None = None) -> bool:
        """Whether to record this event: shadow enabled and ``uniform_0_1 < sample_rate``.

        ``uniform_0_1`` in [0, 1) is drawn from ``uniform`` when not given.
        """
        if not self._enabled:
            return False
        u = self._uniform() if uniform_0_1 is None else uniform_0_1
        return u < self._rate

    def observe(
        self,
        memory_id: str,
        namespace: str,
        source: str,
        caller_confidence: float | None,
        signals: ConfidenceSignals | Mapping[str, Any] | None = None,
        *,
        derived_confidence: float | None = None,
        recall_outcome: str | None = None,
    ) -> str | None:
        """Record one observation if shadow mode samples it; returns its id, else None.

        The hot-path entry: when shadow mode is off or the sample misses, it returns
        at once. It never raises: invalid input or a failing scorer or store is logged
        and counted in ``dropped``. The caller's value is only recorded, never changed.
        """
        if not self._enabled or self._uniform() >= self._rate:
            return None
        try:
            return self.record(
                memory_id,
                namespace,
                source,
                caller_confidence,
                signals,
                derived_confidence=derived_confidence,
                recall_outcome=recall_outcome,
            )
        except Exception as exc:
            self.dropped += 1
            logger.warning("shadow observation dropped: %s", exc)
            return None

    def record(
        self,
        memory_id: str,
        namespace: str,
        source: str,
        caller_confidence: float | None,
        signals: ConfidenceSignals | Mapping[str, Any] | None = None,
        *,
        derived_confidence: float | None = None,
        recall_outcome: str | None = None,
        observed_at: float | None = None,
    ) -> str:
        """Write one observation regardless of sampling and return its time-ordered id.

        ``caller_confidence=None`` is stored as missing. ``derived_confidence`` defaults to
        the scorer's value for ``signals``. Raises
        :class:`~outcomes.errors.ValidationError` on invalid input.
        """
        if isinstance(signals, ConfidenceSignals):
            sig: dict[str, Any] = signals.as_dict()
        elif signals is None:
            sig = {}
        elif isinstance(signals, Mapping):
            sig = _clean(signals)
        else:
            raise ValidationError(
                f"must be a mapping, got {type(signals).__name__}", where="signals"
            )
        caller = _probability(caller_confidence, "caller_confidence", allow_none=True)
        if derived_confidence is None:
            derived_confidence = self._scorer(sig)
        derived = _probability(derived_confidence, "derived_confidence")
        assert derived is not None
        obs = ShadowObservation(
            id=new_id(),
            memory_id=_label(memory_id, "memory_id"),
            namespace=_label(namespace, "namespace"),
            source=_label(source, "source"),
            caller_confidence=caller,
            derived_confidence=derived,
            signals=sig,
            recall_outcome=_recall(recall_outcome),
            observed_at=self._clock.now() if observed_at is None else _when(observed_at),
        )
        self._put(obs)
        return obs.id

    def _put(self, record: Any) -> None:
        if self._writer is not None:
            if not self._writer.submit(record):
                self.dropped += 1
        else:
            self._store.write([record])

    def label(
        self,
        observation_id: str,
        outcome: bool,
        *,
        recall_outcome: str | None = None,
    ) -> bool:
        """Record whether the observed item turned out right; returns whether it exists.

        Labels arrive after the fact and may be changed. ``recall_outcome`` fills that
        field at the same time. Observations still queued in a writer are flushed first.
        """
        if not isinstance(outcome, bool):
            raise ValidationError(f"must be True or False, got {outcome!r}", where="outcome")
        changes: dict[str, Any] = {"outcome": outcome, "labeled_at": self._clock.now()}
        if recall_outcome is not None:
            changes["recall_outcome"] = _recall(recall_outcome)
        self.flush()
        return self._store.update(_OBS, observation_id, changes)

    def set_recall_outcome(self, observation_id: str, recall_outcome: str | None) -> bool:
        """Fill (or clear) whether the item made the top-K; returns whether it exists."""
        self.flush()
        return self._store.update(_OBS, observation_id, {"recall_outcome": _recall(recall_outcome)})

    def log_decision(
        self,
        point: str,
        candidate: str,
        *,
        live_choice: str,
        live_propensity: float,
        candidate_choice: str,
        candidate_probability: float | None = None,
    ) -> str:
        """Log a decision run in shadow: the live choice is used, the candidate's is logged.

        ``point`` names the decision (``"router"``), ``candidate`` the policy under test.
        ``live_propensity`` in (0, 1] is the probability the live policy gave its choice;
        ``candidate_probability`` the probability the candidate gives that same choice
        (default 1.0 if it chose the same, else 0.0). Returns the decision id, to reward
        later with :meth:`reward`. Raises :class:`~outcomes.errors.ValidationError`.
        """
        live_p = _probability(live_propensity, "live_propensity")
        assert live_p is not None
        if live_p <= 0.0:
            raise ValidationError("must be > 0 (the live choice was made)", where="live_propensity")
        if candidate_probability is None:
            candidate_probability = 1.0 if candidate_choice == live_choice else 0.0
        cand_p = _probability(candidate_probability, "candidate_probability")
        assert cand_p is not None
        decision = ShadowDecision(
            id=new_id(),
            point=_label(point, "point"),
            candidate=_label(candidate, "candidate"),
            live_choice=_label(live_choice, "live_choice"),
            live_propensity=live_p,
            candidate_choice=_label(candidate_choice, "candidate_choice"),
            candidate_probability=cand_p,
            decided_at=self._clock.now(),
        )
        self._put(decision)
        return decision.id

    def reward(self, decision_id: str, reward: float) -> bool:
        """Record the outcome in [0, 1] of a logged decision; returns whether it exists."""
        value = _probability(reward, "reward")
        self.flush()
        return self._store.update(
            _DEC, decision_id, {"reward": value, "rewarded_at": self._clock.now()}
        )

    def observations_since(
        self, namespace: str | None = None, since: float | None = None
    ) -> list[ShadowObservation]:
        """See :func:`observations_since` (flushes queued observations first)."""
        self.flush()
        return observations_since(self._store, namespace, since)

    def gc_observations(self, retention_days: float = DEFAULT_RETENTION_DAYS) -> int:
        """See :func:`gc_observations`, on this recorder's store and clock."""
        self.flush()
        return gc_observations(self._store, retention_days, clock=self._clock)

    def start_gc_loop(
        self, *, retention_days: float = DEFAULT_RETENTION_DAYS, interval: float = 3_600.0
    ) -> GcLoop:
        """Start a :class:`GcLoop` on this recorder's store; call ``stop()`` when done."""
        return GcLoop(
            self._store, retention_days=retention_days, interval=interval, clock=self._clock
        )

    def flush(self, timeout: float | None = 10.0) -> FlushResult:
        """Wait until queued records are committed (no-op without a writer); false when
        records were lost since the previous flush."""
        return self._writer.flush(timeout) if self._writer is not None else FlushResult(True)
