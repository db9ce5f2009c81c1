"""Statistics shared by every wing: posteriors, intervals, decayed sums, histograms.

Everything here that is state (``DecayedMean``, ``Histogram``) is a *mergeable summary*:
adding observations in any order, or merging partial summaries built in other processes,
gives the same result (up to floating-point rounding). Each name loads its module on
first use: the intervals and decayed sums are plain functions that a one-shot reader
(``outcomes models --json``) uses without the records around them.
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.stats._decay import DECAY_EPOCH
    from outcomes.stats._interval import Z95, wilson_interval
    from outcomes.stats._summaries import (
        LATENCY_BUCKETS_S,
        TOKEN_BUCKETS,
        BetaPosterior,
        DecayedMean,
        Histogram,
        beta_posterior,
        quantiles,
    )
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.stats._decay": ("DECAY_EPOCH",),
            "outcomes.stats._interval": ("Z95", "wilson_interval"),
            "outcomes.stats._summaries": (
                "LATENCY_BUCKETS_S",
                "TOKEN_BUCKETS",
                "BetaPosterior",
                "DecayedMean",
                "Histogram",
                "beta_posterior",
                "quantiles",
            ),
        },
    )

__all__ = [
    "DECAY_EPOCH",
    "LATENCY_BUCKETS_S",
    "TOKEN_BUCKETS",
    "Z95",
    "BetaPosterior",
    "DecayedMean",
    "Histogram",
    "beta_posterior",
    "quantiles",
    "wilson_interval",
]
