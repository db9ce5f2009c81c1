"""Shadow-mode settings, captured once per process from the environment."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from outcomes import config
from outcomes.errors import ConfigError

DEFAULT_SAMPLE_RATE = 1.0
DEFAULT_RETENTION_DAYS = 30
"""Observations older than this many days are removed by :func:`gc_observations`."""


@dataclass(frozen=True, slots=True)
class ShadowConfig:
    """Whether shadow observations are recorded, and what share of them.

    ``enabled`` comes from ``OUTCOMES_CONFIDENCE_SHADOW``; ``sample_rate`` (in [0, 1])
    from ``OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE``. Explicit values outside [0, 1] or
    non-finite raise :class:`~outcomes.errors.ConfigError`.
    """

    enabled: bool = False
    sample_rate: float = DEFAULT_SAMPLE_RATE

    def __post_init__(self) -> None:
        if not isinstance(self.sample_rate, int | float) or not (
            math.isfinite(self.sample_rate) and 0.0 <= self.sample_rate <= 1.0
        ):
            raise ConfigError(f"sample_rate must be in [0, 1], got {self.sample_rate!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ShadowConfig:
        """Read both variables (``env`` defaults to ``os.environ``) exactly once each.

        The rate is clamped to [0, 1]; a malformed rate warns once and gives 1.0, a
        malformed flag warns once and leaves shadow mode off.
        """
        enabled = config.env_flag(config.ENV_CONFIDENCE_SHADOW, False, env=env)
        rate = config.env_float(
            config.ENV_CONFIDENCE_SHADOW_SAMPLE_RATE, DEFAULT_SAMPLE_RATE, env=env
        )
        return cls(enabled=enabled, sample_rate=min(1.0, max(0.0, rate)))


@functools.cache
def shadow_config() -> ShadowConfig:
    """The process-wide config, read from ``os.environ`` on the first call only.

    Later changes to the environment are not seen (the hot path never reads it). Code
    and tests that want another config pass one explicitly to
    :class:`~outcomes.shadow.ShadowRecorder` instead of resetting this cache.
    """
    return ShadowConfig.from_env()
