"""``outcomes models --plot FILE``: the leaderboard as a picture (the ``[plot]`` extra).

Three panels, one row per model in leaderboard order: success rate with its 95% Wilson
interval (the interval that always contains the observed rate) and the mean quality
beside it; p95 latency; cost per success. A model without the number a panel shows has
no bar there and says "n/a", so missing data is never drawn as zero. matplotlib is
imported only here, with the non-interactive Agg backend, and the file is written
atomically under the same link policy as every file ``outcomes`` writes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from outcomes._files import atomic_write
from outcomes.errors import OutcomesError
from outcomes.inference import ModelProfile

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


class PlotError(OutcomesError, ValueError):
    """The picture cannot be drawn: matplotlib missing, an unknown format, no data."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("drawing needs matplotlib: pip install 'outcomes[plot]'") from None
    return plt


def _bars(ax: Any, labels: Sequence[str], values: Sequence[float | None], xlabel: str) -> None:
    ys = list(range(len(labels)))
    ax.barh(ys, [0.0 if v is None else v for v in values], color="#4c72b0")
    for y, v in zip(ys, values, strict=True):
        if v is None:
            ax.text(0, y, " n/a", va="center", fontsize=8, color="#777777")
    ax.set_yticks(ys, labels)
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()


def _success_panel(ax: Any, profiles: Sequence[ModelProfile]) -> None:
    labels = [p.model_id for p in profiles]
    ys = list(range(len(profiles)))
    for y, p in zip(ys, profiles, strict=True):
        rate, interval = p.observed_success_rate, p.wilson_interval()
        if rate is None or interval is None:
            ax.text(0, y, " n/a", va="center", fontsize=8, color="#777777")
            continue
        ax.errorbar(
            rate, y, xerr=[[rate - interval[0]], [interval[1] - rate]], fmt="o",
            color="#4c72b0", capsize=3, label="success [95%]" if y == 0 else None,
        )  # fmt: skip
        if p.quality is not None:
            ax.plot(p.quality, y, "D", color="#dd8452", label="quality" if y == 0 else None)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("success rate [95% interval], quality")
    ax.invert_yaxis()
    ax.legend(loc="best", fontsize=7)


def plot_profiles(profiles: Sequence[ModelProfile], path: Path, *, title: str) -> None:
    """Draw ``profiles`` into ``path`` (``.png``, ``.svg`` or ``.pdf``).

    Raises :class:`PlotError` for another suffix, no profiles or no matplotlib, and
    :class:`~outcomes.errors.UnsafePathError` for a path the link policy refuses.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PlotError(f"{path.name}: use a .png, .svg or .pdf file name")
    if not profiles:
        raise PlotError("no model calls match: nothing to draw")
    plt = _pyplot()
    height = 1.8 + 0.35 * len(profiles)
    fig, axes = plt.subplots(1, 3, figsize=(13, height), sharey=False)
    try:
        _success_panel(axes[0], profiles)
        labels = [p.model_id for p in profiles]
        _bars(axes[1], labels, [p.latency_p95_ms for p in profiles], "p95 latency (ms)")
        _bars(axes[2], labels, [p.cost_per_success for p in profiles], "cost per success (USD)")
        for ax in axes[1:]:
            ax.set_yticklabels([])
        fig.suptitle(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=120)
    finally:
        plt.close(fig)
    atomic_write(path, buf.getvalue())
