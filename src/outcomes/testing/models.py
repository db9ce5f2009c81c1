"""A simulated fleet of models for the demo: hidden quality, real-looking latency, 429 bursts.

Nothing here reads the network or ``../shared``; the numbers are plausible shapes, not
measurements: per-task success probabilities, log-normal latencies, token counts, list
prices, and a rate-limited provider that answers 429 in bursts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

TASKS: tuple[str, ...] = ("generate", "code", "classify", "reasoning", "embed")


@dataclass(frozen=True, slots=True)
class SimModel:
    model_id: str
    quality: dict[str, float]
    """Hidden probability of a good answer per task."""
    latency_ms_median: float
    latency_sigma: float
    usd_per_1m_input: float
    usd_per_1m_output: float
    rate_limited: bool = False
    """Answers 429 in bursts (like a throttled provider)."""


FLEET: tuple[SimModel, ...] = (
    SimModel("gpt-4o", {"generate": 0.9, "code": 0.88, "classify": 0.93, "reasoning": 0.86, "embed": 0.95}, 1400, 0.5, 2.5, 10.0),
    SimModel("gpt-4o-mini", {"generate": 0.82, "code": 0.74, "classify": 0.9, "reasoning": 0.7, "embed": 0.94}, 700, 0.45, 0.15, 0.6),
    SimModel("claude-3-5-sonnet", {"generate": 0.9, "code": 0.91, "classify": 0.91, "reasoning": 0.87, "embed": 0.93}, 1600, 0.5, 3.0, 15.0, rate_limited=True),
    SimModel("llama-3.1-70b", {"generate": 0.8, "code": 0.72, "classify": 0.86, "reasoning": 0.7, "embed": 0.9}, 900, 0.6, 0.6, 0.8),
    SimModel("mistral-7b-local", {"generate": 0.62, "code": 0.5, "classify": 0.8, "reasoning": 0.45, "embed": 0.88}, 350, 0.35, 0.0, 0.0),
    SimModel("qwen2.5-coder-7b-local", {"generate": 0.6, "code": 0.76, "classify": 0.7, "reasoning": 0.5, "embed": 0.85}, 420, 0.35, 0.0, 0.0),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimResult:
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    good: bool
    """Whether the (hidden) answer was good: the signal a user would eventually give."""


class Simulator:
    """Draws outcomes for calls; keeps the burst state of rate-limited models."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._burst_left: dict[str, int] = {}

    def call(self, model: SimModel, task: str) -> SimResult:
        rng = self.rng
        latency = model.latency_ms_median * math.exp(rng.gauss(0.0, model.latency_sigma))
        input_tokens = int(rng.lognormvariate(6.0, 0.7))
        if model.rate_limited:
            left = self._burst_left.get(model.model_id, 0)
            if left == 0 and rng.random() < 0.01:
                left = rng.randint(20, 60)
            if left > 0:
                self._burst_left[model.model_id] = left - 1
                return SimResult(
                    latency_ms=rng.uniform(20, 80),
                    input_tokens=input_tokens,
                    output_tokens=0,
                    cost_usd=0.0,
                    error="429 Too Many Requests: rate limit reached (retry-after: 20)",
                    good=False,
                )
        if rng.random() < 0.01:
            return SimResult(
                latency, input_tokens, 0, 0.0, "upstream 503: service unavailable", False
            )
        output_tokens = 0 if task == "embed" else int(rng.lognormvariate(5.3, 0.8)) + 1
        if task == "embed":
            output_tokens = 1
        cost = (
            input_tokens * model.usd_per_1m_input + output_tokens * model.usd_per_1m_output
        ) / 1e6
        good = rng.random() < model.quality.get(task, 0.5)
        return SimResult(latency, input_tokens, output_tokens, cost, None, good)

    def task(self) -> str:
        return self.rng.choices(TASKS, weights=(40, 30, 12, 12, 6))[0]

    def model(self) -> SimModel:
        return self.rng.choice(FLEET)
