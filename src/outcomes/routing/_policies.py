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
from scipy import sparse
from scipy.sparse.linalg import lsqr
from scipy.special import expit, logit

from outcomes.routing._matrix import Row
from outcomes.routing._select import Weights, select_arrays, thompson_propensity

_WORD = re.compile(r"[a-z0-9_]+")
MIN_T = 2.5
"""A text slope is used only when it is this many standard errors from zero."""


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

    def update(
        self,
        row: Row,
        model: int,
        quality: float,
        cost: float,
        latency: float,
        *,
        error: bool = False,
    ) -> None:
        """Observe the chosen model's outcome (bandit feedback); ``error``: the call failed
        (an API error such as a 429, not a wrong answer)."""

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


class TaskFixed(ReplayPolicy):
    """A fixed task-level router fitted offline: for each task, the model with the best
    train-split ``quality - cost_weight * price / max_price``; the dearest best model for
    tasks the train split lacks. It never learns online (the reference a bandit must
    reach when the offline data are right)."""

    name = "fixed-per-task"

    def __init__(self, models: Sequence[str], prices: Sequence[float], cost_weight: float) -> None:
        super().__init__(models, prices)
        self.cost_weight = cost_weight
        self.choice: dict[str, int] = {}
        self.default = int(np.argmax(self.prices))

    def warm_start(self, rows: Sequence[Row]) -> None:
        top = float(self.prices.max()) or 1.0
        by_task: dict[str, list[Row]] = {}
        for r in rows:
            by_task.setdefault(r.task, []).append(r)
        for task, trows in by_task.items():
            q = np.asarray([r.quality for r in trows]).mean(axis=0)
            self.choice[task] = int(np.argmax(q - self.cost_weight * self.prices / top))

    def choose(self, row: Row) -> tuple[int, float]:
        return self.choice.get(row.task, self.default), 1.0


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

    def update(
        self,
        row: Row,
        model: int,
        quality: float,
        cost: float,
        latency: float,
        *,
        error: bool = False,
    ) -> None:
        r = self.recent[model]
        r.append(latency)
        if len(r) > self.window:
            del r[0]


class DecisionBreaker:
    """The live router's circuit breaker with decisions for seconds: after ``failures``
    API errors in a row a model sits out ``base`` decisions, doubling on each further
    trip up to ``cap``; a success resets it."""

    def __init__(self, n: int, failures: int = 3, base: int = 30, cap: int = 600) -> None:
        self.failures = failures
        self.base = base
        self.cap = cap
        self.streak = [0] * n
        self.backoff = [0] * n
        self.until = np.zeros(n)
        self.t = 0

    def open(self) -> np.ndarray:
        """Mask of the models that may be called now."""
        out: np.ndarray = self.until <= self.t
        return out

    def record(self, model: int, error: bool) -> None:
        self.t += 1
        if not error:
            self.streak[model] = 0
            self.backoff[model] = 0
            return
        self.streak[model] += 1
        if self.streak[model] >= self.failures:
            b = self.backoff[model]
            self.backoff[model] = min(self.cap, 2 * b if b else self.base)
            self.until[model] = max(self.until[model], self.t + self.backoff[model])
            self.streak[model] = 0


class BetaBandit(ReplayPolicy):
    """Beta statistics per (task, model), shared by ours and the LiteLLM-style baseline.

    ``half_life`` (in decisions of that task) forgets old evidence; ``cap`` bounds
    alpha + beta (LiteLLM's adaptive router caps at 200). ``share`` lends up to that many
    pseudo-counts from the model's other tasks to a task with little data. ``breaker``
    skips a model after API errors in a row, like the live router (see
    :class:`DecisionBreaker`).
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
        breaker: bool = False,
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
        self.breaker = DecisionBreaker(len(models)) if breaker else None
        self.stats: dict[str, np.ndarray] = {}
        self.prior: dict[str, np.ndarray] = {}
        self._every = np.arange(len(self.models))

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
        allowed = self._allowed(row)
        sel = select_arrays(
            [self.models[i] for i in allowed],
            alpha[allowed],
            beta[allowed],
            self.prices[allowed],
            np.full(len(allowed), math.nan),
            self.weights,
            policy=self.policy,  # type: ignore[arg-type]
            rng=self.rng,
            epsilon=self.epsilon,
        )
        return int(allowed[sel.index]), sel.propensity

    def _allowed(self, row: Row) -> np.ndarray:
        """Indices, in order, of the models available for ``row`` that the breaker lets
        through (the breaker is ignored when it would block every model: then the least
        bad choice is still a choice)."""
        avail = None if row.available is None else np.asarray(row.available, dtype=bool)
        if self.breaker is None:
            return self._every if avail is None else np.flatnonzero(avail)
        mask = self.breaker.open()
        if avail is not None:
            mask = mask & avail
            if not mask.any():
                mask = avail
        if mask.all() or not mask.any():
            return self._every
        return np.flatnonzero(mask)

    def update(
        self,
        row: Row,
        model: int,
        quality: float,
        cost: float,
        latency: float,
        *,
        error: bool = False,
    ) -> None:
        if self.breaker is not None:
            self.breaker.record(model, error)
        st = self._arm(row.task)
        if self.half_life:
            st *= 0.5 ** (1.0 / self.half_life)
        st[0, model] += quality
        st[1, model] += 1.0 - quality
        if self.cap is not None and st[0, model] + st[1, model] + 10.0 > self.cap:
            # LiteLLM stops updating an arm once alpha + beta would pass its cap.
            st[0, model] -= quality
            st[1, model] -= 1.0 - quality


class TextDifficulty:
    """How hard a prompt looks, per task, from its words; and how each model's chance of
    success moves with that difficulty.

    Fitted once on offline rows with full information (the train split): a ridge
    regression from TF-IDF weighted hashed words and word pairs of the prompt's tail (the
    question of a few-shot prompt comes last) to the prompt's mean quality over all
    models; then, per task and model, the slope of a logistic regression of that model's
    outcome on the standardised out-of-fold difficulty, with the model's task success
    rate as offset. Only hashed feature indices are used; the text is never stored.
    """

    def __init__(
        self,
        *,
        dim: int = 1 << 18,
        damp: float = 1.0,
        folds: int = 5,
        max_words: int = 2_000,
        min_rows: int = 50,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.damp = damp
        self.folds = folds
        self.max_words = max_words
        self.min_rows = min_rows
        self.seed = seed
        self.coef: dict[str, np.ndarray] = {}
        self.idf: dict[str, np.ndarray] = {}
        self.scale: dict[str, float] = {}
        self.slope: dict[str, np.ndarray] = {}
        self._scores: dict[tuple[str, str], float] = {}
        """Scores by (task, prompt id): a replay scores the same prompts at every cost
        weight (a number per prompt is kept, never its text)."""

    def _hashed(self, prompt: str) -> dict[int, float]:
        words = _WORD.findall(prompt.lower())[-self.max_words :]
        counts: dict[int, float] = {}
        dim = self.dim
        for tok in itertools.chain(words, (f"{a} {b}" for a, b in itertools.pairwise(words))):
            h = zlib.crc32(tok.encode()) % dim
            counts[h] = counts.get(h, 0.0) + 1.0
        return {h: 1.0 + math.log(c) for h, c in counts.items()}

    def _matrix(self, prompts: Sequence[str]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for p in prompts:
            feats = self._hashed(p)
            indices.extend(feats)
            data.extend(feats.values())
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
            shape=(len(prompts), self.dim),
        )

    @staticmethod
    def _weighted(x: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
        x = x @ sparse.diags(idf)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ x

    def fit(self, rows: Sequence[Row]) -> TextDifficulty:
        by_task: dict[str, list[Row]] = {}
        for r in rows:
            by_task.setdefault(r.task, []).append(r)
        for task, trows in by_task.items():
            if len(trows) < self.min_rows:
                continue
            raw = self._matrix([r.prompt for r in trows])
            df = np.asarray((raw > 0).sum(axis=0)).ravel()
            idf = np.log((1.0 + len(trows)) / (1.0 + df))
            x = self._weighted(raw, idf)
            # Solved on the columns the task's prompts use: a column of zeros gets a zero
            # coefficient anyway, and each solver step would cost a pass over all
            # ``dim`` of them (most of the whole replay's time before).
            used = np.flatnonzero(df)
            x = sparse.csr_matrix(
                (x.data, np.searchsorted(used, x.indices), x.indptr), shape=(len(trows), len(used))
            )
            q = np.asarray([r.quality for r in trows], dtype=float)
            target = q.mean(axis=1)
            target = target - target.mean()
            # Out-of-fold predictions, so the slopes see honest difficulty estimates.
            oof = np.zeros(len(trows))
            fold = np.random.default_rng(self.seed).permutation(len(trows)) % self.folds
            for k in range(self.folds):
                tr, te = fold != k, fold == k
                w = lsqr(x[tr], target[tr], damp=self.damp)[0]
                oof[te] = x[te] @ w
            sd = float(oof.std())
            if sd <= 1e-12:
                continue
            z = oof / sd
            self.idf[task] = idf
            coef = np.zeros(self.dim)
            coef[used] = lsqr(x, target, damp=self.damp)[0]
            self.coef[task] = coef
            self.scale[task] = sd
            self.slope[task] = np.array([_offset_slope(z, q[:, m]) for m in range(q.shape[1])])
        return self

    def score(self, row: Row) -> float:
        """Standardised predicted easiness of the prompt for its task (0 when unknown)."""
        key = (row.task, row.prompt_id)
        got = self._scores.get(key)
        if got is None:
            got = self._scores[key] = self._score(row)
        return got

    def _score(self, row: Row) -> float:
        coef = self.coef.get(row.task)
        if coef is None:
            return 0.0
        feats = self._hashed(row.prompt)
        if not feats:
            return 0.0
        idx = np.fromiter(feats, dtype=np.int64, count=len(feats))
        val = np.fromiter(feats.values(), dtype=float, count=len(feats)) * self.idf[row.task][idx]
        norm = math.sqrt(float(val @ val))
        if norm <= 1e-12:
            return 0.0
        return float(val @ coef[idx]) / norm / self.scale[row.task]


def _offset_slope(z: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 25) -> float:
    """Slope ``b`` of ``P(y) = sigmoid(logit(mean y) + b z)`` by Newton steps (ridge ``l2``),
    or 0 when it is not clearly nonzero (|b| under ``MIN_T`` standard errors): a noisy
    slope would only move decisions at random."""
    mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    off = math.log(mean / (1.0 - mean))
    b = 0.0
    hess = 1.0
    for _ in range(steps):
        p = expit(off + b * z)
        grad = float(z @ (y - p)) - l2 * b
        hess = float((z * z) @ (p * (1.0 - p))) + l2
        step = grad / hess
        b += step
        if abs(step) < 1e-8:
            break
    return b if abs(b) * math.sqrt(hess) >= MIN_T else 0.0


class CostModel:
    """Expected cost of each model on a prompt, linear in the prompt's length, fitted on
    offline rows (input tokens are priced; the answer's length is its model's mean)."""

    def __init__(self, prices: np.ndarray) -> None:
        self.prices = prices
        self.coef: np.ndarray | None = None

    def fit(self, rows: Sequence[Row]) -> CostModel:
        if len(rows) < 10:
            return self
        length = np.asarray([len(r.prompt) for r in rows], dtype=float)
        x = np.column_stack([np.ones_like(length), length])
        c = np.asarray([r.cost for r in rows], dtype=float)
        coef, *_ = np.linalg.lstsq(x, c, rcond=None)
        self.coef = coef
        return self

    def expected(self, row: Row) -> np.ndarray:
        if self.coef is None:
            return self.prices
        est: np.ndarray = np.maximum(self.coef[0] + self.coef[1] * len(row.prompt), 0.0)
        return est


class Contextual(BetaBandit):
    """Ours, with the prompt: the per-task Beta statistics of :class:`BetaBandit` (offline
    priors, online bandit updates, forgetting), each model's Thompson draw shifted in the
    logit domain by how hard :class:`TextDifficulty` says the prompt is for it, and a
    per-prompt expected cost from :class:`CostModel`. Features are computed at decision
    time and dropped; the text model is fitted offline and shared across cost weights.
    """

    def __init__(
        self,
        models: Sequence[str],
        prices: Sequence[float],
        *,
        cost_weight: float,
        text: TextDifficulty,
        costs: CostModel | None = None,
        seed: int = 0,
        half_life: float | None = None,
        share: float = 0.0,
        prior_cap: float = 0.0,
        breaker: bool = False,
    ) -> None:
        super().__init__(
            "outcomes-contextual",
            models,
            prices,
            weights=Weights(quality=1.0, cost=cost_weight),
            seed=seed,
            half_life=half_life,
            share=share,
            prior_cap=prior_cap,
            breaker=breaker,
        )
        self.cost_weight = cost_weight
        self.text = text
        self.costs = costs
        self.propensities = True
        """Compute each pick's probability (a quadrature); the replay, which does not
        read it, turns this off."""

    def choose(self, row: Row) -> tuple[int, float]:
        alpha, beta = self._counts(row.task)
        slope = self.text.slope.get(row.task)
        z = self.text.score(row) if slope is not None else 0.0
        draw = np.clip(self.rng.beta(alpha, beta), 1e-6, 1 - 1e-6)
        mean = alpha / (alpha + beta)
        if slope is not None and z != 0.0:
            draw = expit(logit(draw) + slope * z)
            mean = expit(logit(mean) + slope * z)
        cost = self.costs.expected(row) if self.costs is not None else self.prices
        top = float(cost.max())
        penalty = self.cost_weight * cost / top if top > 0 else np.zeros(len(cost))
        allowed = self._allowed(row)
        k = int(np.argmax((draw - penalty)[allowed]))
        if not self.propensities:
            return int(allowed[k]), math.nan
        prob = thompson_propensity(
            mean[allowed], (alpha + beta)[allowed], -penalty[allowed], 1.0, k
        )
        return int(allowed[k]), prob
