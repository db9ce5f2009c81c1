"""Calibration verdicts on simulated groups: what the report says, and what the rule
before discrimination was considered (``switch`` whenever the Brier difference interval
lies below 0) would have said.

``python -m benchmarks.eval_calibration [--seeds N]``

Scenarios (labels drawn from a true probability ``p`` unless said otherwise):

- better / worse: one score is ``p`` plus small noise, the other ``p + 0.3`` (clipped);
- equal: both are ``p`` plus independent small noise;
- too few labels: 150 labeled rows (under the 200 needed);
- base-rate trap: the caller ranks every case right (0.6-0.9 where 30% are positive,
  outcomes decided by the same latent) and the derived score is a constant at the true
  base rate; the same with random outcomes and the caller's log-odds shifted by 1.5 (300
  and 4,000 rows);
- overconfident caller: log-odds times 3 (ranks perfectly, calibration off) against a
  derived score that is ``p`` with noise (sd 0.15);
- neither ranks: the caller is noise around 0.7, derived a constant at the base rate 0.3.

No constant of the verdict was chosen on these data: the folds (5), the 95% intervals and
the AUC rule (interval above 0.5) are fixed by design.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable

import numpy as np
from scipy.special import expit, logit

from outcomes._ids import new_id
from outcomes.shadow import ShadowConfig, ShadowObservation, ShadowRecorder, calibration_report
from outcomes.store import MemoryStore

NOW = 1_780_000_000.0
FloatArray = np.ndarray


def observations(
    caller: FloatArray, derived: FloatArray, y: FloatArray, *, source: str = "user"
) -> list[ShadowObservation]:
    """Labeled observations of one (namespace ``ns``, ``source``) group."""
    return [
        ShadowObservation(
            id=new_id(),
            memory_id=f"m{i}",
            namespace="ns",
            source=source,
            caller_confidence=float(caller[i]),
            derived_confidence=float(derived[i]),
            signals={},
            recall_outcome=None,
            observed_at=NOW + i,
            outcome=bool(y[i]),
        )
        for i in range(len(y))
    ]


def base_rate_trap(n: int, seed: int) -> list[ShadowObservation]:
    """The caller ranks every case right but says 0.6-0.9 where 30% are positive; the
    derived score is a constant at the true base rate (it cannot rank anything)."""
    rng = np.random.default_rng(seed)
    latent = rng.random(n)
    y = latent > 0.7
    return observations(0.6 + 0.3 * latent, np.full(n, y.mean()), y)


def shifted_trap(n: int, seed: int) -> list[ShadowObservation]:
    """Outcomes are random; the caller is the true probability with its log-odds shifted
    up by 1.5 (ranks as well as possible, base rate off); derived is the base rate."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.6, n)
    y = rng.random(n) < p
    return observations(expit(logit(p) + 1.5), np.full(n, y.mean()), y)


def _noisy(n: int, seed: int, *, better: bool | None) -> list[ShadowObservation]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    y = rng.random(n) < p
    good = np.clip(p + rng.normal(0, 0.03, n), 0, 1)
    other = (
        np.clip(p + 0.3, 0, 1) if better is not None else np.clip(p + rng.normal(0, 0.03, n), 0, 1)
    )
    caller, derived = (other, good) if better else (good, other)
    return observations(caller, derived, y)


def _overconfident(n: int, seed: int) -> list[ShadowObservation]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = rng.random(n) < p
    return observations(expit(3 * logit(p)), np.clip(p + rng.normal(0, 0.15, n), 0, 1), y)


def _no_ranking(n: int, seed: int) -> list[ShadowObservation]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    return observations(np.clip(0.7 + rng.normal(0, 0.05, n), 0, 1), np.full(n, 0.3), y)


SCENARIOS: dict[str, Callable[[int], list[ShadowObservation]]] = {
    "derived better (1,500 rows)": lambda s: _noisy(1_500, s, better=True),
    "derived worse (1,500)": lambda s: _noisy(1_500, s, better=False),
    "equal (1,500)": lambda s: _noisy(1_500, s, better=None),
    "too few labels (150)": lambda s: _noisy(150, s, better=True),
    "base-rate trap, ranks perfectly (600)": lambda s: base_rate_trap(600, s),
    "base-rate trap, random outcomes (300)": lambda s: shifted_trap(300, s),
    "base-rate trap, random outcomes (4,000)": lambda s: shifted_trap(4_000, s),
    "overconfident caller vs noisy derived (6,000)": lambda s: _overconfident(6_000, s),
    "neither ranks (1,000)": lambda s: _no_ranking(1_000, s),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_calibration")
    parser.add_argument("--seeds", type=int, default=50, help="seeds per scenario")
    parser.add_argument("--first-seed", type=int, default=5_000)
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"{len(seeds)} seeds per scenario ({seeds.start}-{seeds.stop - 1})")
    print(f"{'scenario':48} {'verdicts now':48} old rule said switch")
    for name, make in SCENARIOS.items():
        now: Counter[str] = Counter()
        old_switch = 0
        for seed in seeds:
            store = MemoryStore()
            ShadowRecorder(store, config=ShadowConfig())
            store.write(make(seed))
            (group,) = calibration_report(store)
            now[group.verdict] += 1
            interval = group.brier_diff_interval
            enough = group.verdict != "insufficient_data"
            old_switch += int(enough and interval is not None and interval[1] < 0)
        shown = ", ".join(f"{v} {c}" for v, c in now.most_common())
        print(f"{name:48} {shown:48} {old_switch}/{len(seeds)}")


if __name__ == "__main__":
    main()
