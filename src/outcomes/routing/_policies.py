"""Online routing policies for the replay benchmark: ours and the baselines.

Every policy sees the task (the contextual one also the prompt text, at decision time
only), picks a model, and then observes only that model's outcome and cost.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import zlib
from collections.abc import Sequence

import numpy as np

from outcomes.routing._matrix import Row
from outcomes.routing._select import Weights, select_arrays

_WORD = re.compile(r"[a-z0-9_]+")


class ReplayPolicy:
    """Base: ``choose`` returns a model index; ``update`` feeds back the observed outcome."""

    name = "policy"

    def __init__(self, models: Sequence[str], prices: Sequence[float]) -> None:
        self.models = tuple(models)
        self.prices = np.asarray(prices, dtype=float)
        """Expected USD per call of each model (list prices: known before any call)."""

    def choose(self, row: Row) -> tuple[int, float]:
        """Return (model index, probability of that choice)."""
        raise NotImplementedError

    def update(self, row: Row, model: int, quality: float, cost: float, latency: float) -> None:
        """Observe the chosen model's outcome (bandit feedback)."""

    def warm_start(self, rows: Sequence[Row]) -> None:
        """Learn from offline rows with full information (the train split)."""


class Fixed(ReplayPolicy):
    def __init__(
        self, name: str, models: Sequence[str], prices: Sequence[float], index: int
    ) -> None:
        super().__init__(models, prices)
        self.name = name
        self.index = index

    def choose(self, row: Row) -> tuple[int, float]:
        return self.index, 1.0


class Uniform(ReplayPolicy):
    def __init__(
        self, name: str, models: Sequence[str], prices: Sequence[float], seed: int
    ) -> None:
        super().__init__(models, prices)
        self.name = name
        self.rng = random.Random(seed)

    def choose(self, row: Row) -> tuple[int, float]:
        n = len(self.models)
        return self.rng.randrange(n), 1.0 / n


class LowestLatency(ReplayPolicy):
    """LiteLLM ``latency-based-routing``: the deployment with the lowest average latency
    over its recent calls, picking at random among those within ``buffer`` of the best;
    untried deployments count as zero latency (so each is tried once)."""

    name = "litellm-latency-based"

    def __init__(
        self,
        models: Sequence[str],
        prices: Sequence[float],
        seed: int,
        window: int = 10,
        buffer: float = 0.0,
    ) -> None:
        super().__init__(models, prices)
        self.rng = random.Random(seed)
        self.recent: list[list[float]] = [[] for _ in models]
        self.window = window
        self.buffer = buffer

    def choose(self, row: Row) -> tuple[int, float]:
        avg = [sum(r) / len(r) if r else 0.0 for r in self.recent]
        best = min(avg)
        pool = [i for i, a in enumerate(avg) if a <= best * (1 + self.buffer)]
        return self.rng.choice(pool), 1.0 / len(pool)

    def update(self, row: Row, model: int, quality: float, cost: float, latency: float) -> None:
        r = self.recent[model]
        r.append(latency)
        if len(r) > self.window:
            del r[0]


class BetaBandit(ReplayPolicy):
    """Beta statistics per (task, model), shared by ours and the LiteLLM-style baseline.

    ``half_life`` (in decisions of that task) forgets old evidence; ``cap`` bounds
    alpha + beta (LiteLLM's adaptive router caps at 200). ``share`` lends up to that many
    pseudo-counts from the model's other tasks to a task with little data.
    """

    def __init__(
        self,
        name: str,
        models: Sequence[str],
        prices: Sequence[float],
        *,
        weights: Weights,
        policy: str = "thompson",
        seed: int = 0,
        half_life: float | None = None,
        cap: float | None = None,
        share: float = 0.0,
        prior_cap: float = 0.0,
        epsilon: float = 0.1,
        litellm_score: bool = False,
    ) -> None:
        super().__init__(models, prices)
        self.name = name
        self.weights = weights
        self.policy = policy
        self.rng = np.random.default_rng(seed)
        self.half_life = half_life
        self.cap = cap
        self.share = share
        self.prior_cap = prior_cap
        self.epsilon = epsilon
        self.litellm_score = litellm_score
        self.stats: dict[str, np.ndarray] = {}
        self.prior: dict[str, np.ndarray] = {}

    def _arm(self, task: str) -> np.ndarray:
        st = self.stats.get(task)
        if st is None:
            st = self.stats[task] = np.zeros((2, len(self.models)))
        return st

    def warm_start(self, rows: Sequence[Row]) -> None:
        if self.prior_cap <= 0:
            return
        acc: dict[str, np.ndarray] = {}
        for r in rows:
            a = acc.setdefault(r.task, np.zeros((2, len(self.models))))
            q = np.asarray(r.quality)
            a[0] += q
            a[1] += 1 - q
        for task, a in acc.items():
            n = a.sum(axis=0)
            scale = np.minimum(1.0, self.prior_cap / np.maximum(n, 1e-9))
            self.prior[task] = a * scale

    def _counts(self, task: str) -> tuple[np.ndarray, np.ndarray]:
        st = self._arm(task)
        alpha = 1.0 + st[0]
        beta = 1.0 + st[1]
        pr = self.prior.get(task)
        if pr is not None:
            alpha = alpha + pr[0]
            beta = beta + pr[1]
        if self.share > 0 and len(self.stats) > 1:
            other = sum((v for t, v in self.stats.items() if t != task), np.zeros_like(st))
            n = other.sum(axis=0)
            scale = np.minimum(1.0, self.share / np.maximum(n, 1e-9))
            alpha = alpha + other[0] * scale
            beta = beta + other[1] * scale
        return alpha, beta

    def choose(self, row: Row) -> tuple[int, float]:
        alpha, beta = self._counts(row.task)
        if self.litellm_score:
            # LiteLLM's adaptive router: a Thompson draw per model from Beta statistics that
            # start at mass 10 around 0.5, scored 0.7 * quality + 0.3 * cost score, where the
            # cost score is min-max scaled (cheapest 1, dearest 0, 0.5 with no spread).
            q = self.rng.beta(alpha + 4.0, beta + 4.0)
            lo, hi = float(self.prices.min()), float(self.prices.max())
            cost_score = (
                (hi - self.prices) / (hi - lo) if hi > lo else np.full(len(self.prices), 0.5)
            )
            score = 0.7 * q + 0.3 * cost_score
            return int(np.argmax(score)), math.nan
        sel = select_arrays(
            self.models,
            alpha,
            beta,
            self.prices,
            np.full(len(self.models), math.nan),
            self.weights,
            policy=self.policy,  # type: ignore[arg-type]
            rng=self.rng,
            epsilon=self.epsilon,
        )
        return sel.index, sel.propensity

    def update(self, row: Row, model: int, quality: float, cost: float, latency: float) -> None:
        st = self._arm(row.task)
        if self.half_life:
            st *= 0.5 ** (1.0 / self.half_life)
        st[0, model] += quality
        st[1, model] += 1.0 - quality
        if self.cap is not None and st[0, model] + st[1, model] + 10.0 > self.cap:
            # LiteLLM stops updating an arm once alpha + beta would pass its cap.
            st[0, model] -= quality
            st[1, model] -= 1.0 - quality


class Contextual(ReplayPolicy):
    """Per-model online logistic regression on hashed words of the prompt and its task.

    Features are computed from the prompt text at decision time and only the hashed
    indices are used; the text is never stored. Trained on the offline (train) rows with
    full information, then updated online with bandit feedback. Picks the model with the
    best predicted quality minus ``cost_weight`` times its normalised price, exploring
    with probability ``epsilon``.
    """

    name = "outcomes-contextual"

    def __init__(
        self,
        models: Sequence[str],
        prices: Sequence[float],
        *,
        cost_weight: float,
        seed: int = 0,
        dim: int = 1 << 14,
        lr: float = 0.1,
        epochs: int = 6,
        l2: float = 1e-5,
        epsilon: float = 0.02,
    ) -> None:
        super().__init__(models, prices)
        self.cost_weight = cost_weight
        self.dim = dim
        self.lr = lr
        self.epochs = epochs
        self.l2 = l2
        self.epsilon = epsilon
        self.rng = random.Random(seed)
        self.W = np.zeros((len(models), dim))
        self.norm_price = self.prices / max(float(self.prices.max()), 1e-12)

    def features(self, row: Row) -> np.ndarray:
        words = _WORD.findall(row.prompt.lower())[:400]
        toks = [f"t:{row.task}", f"len:{row.task}:{min(int(math.log2(len(words) + 1)), 12)}"]
        toks += [f"{row.task}:{w}" for w in words]
        toks += [f"{row.task}:{a}_{b}" for a, b in itertools.pairwise(words)]
        idx = {zlib.crc32(t.encode()) % self.dim for t in toks}
        return np.fromiter(idx, dtype=np.int64)

    def _predict(self, idx: np.ndarray) -> np.ndarray:
        z = self.W[:, idx].sum(axis=1) / math.sqrt(len(idx))
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return out

    def _step(self, idx: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> None:
        p = self._predict(idx)
        g = (y - p) / math.sqrt(len(idx))
        if mask is not None:
            g = g * mask
        self.W[:, idx] += self.lr * g[:, None] - self.lr * self.l2 * self.W[:, idx]

    def warm_start(self, rows: Sequence[Row]) -> None:
        feats = [(self.features(r), np.asarray(r.quality)) for r in rows]
        order = list(range(len(feats)))
        for _ in range(self.epochs):
            self.rng.shuffle(order)
            for i in order:
                self._step(*feats[i])

    def choose(self, row: Row) -> tuple[int, float]:
        idx = self.features(row)
        self._last = (row.prompt_id, idx)
        p = self._predict(idx)
        score = p - self.cost_weight * self.norm_price
        best = int(np.argmax(score))
        n = len(self.models)
        pick = self.rng.randrange(n) if self.rng.random() < self.epsilon else best
        return pick, self.epsilon / n + (1 - self.epsilon if pick == best else 0.0)

    def update(self, row: Row, model: int, quality: float, cost: float, latency: float) -> None:
        idx = self._last[1] if self._last[0] == row.prompt_id else self.features(row)
        y = np.zeros(len(self.models))
        y[model] = quality
        mask = np.zeros(len(self.models))
        mask[model] = 1.0
        self._step(idx, y, mask)
