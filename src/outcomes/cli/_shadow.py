"""The ``outcomes shadow`` group: calibration report, off-policy estimates, retention."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from outcomes.cli import _common as cli
from outcomes.cli._framework import Option
from outcomes.shadow import (
    DEFAULT_RETENTION_DAYS,
    CalibrationGroup,
    OffPolicyEstimate,
    calibration_report,
    gc_observations,
    offpolicy_report,
    report_json,
)

if TYPE_CHECKING:
    from rich.table import Table


app = cli.new_app(
    help="Shadow mode: compare a derived confidence (or a candidate policy) with outcomes.",
    no_args_is_help=True,
)

_SHORT_VERDICT = {"insufficient_data": "no data"}
_VERDICT_STYLE = {
    "switch": "bold green",
    "recalibrate": "bold cyan",
    "keep": "yellow",
    "insufficient_data": "dim",
}


def report_table(
    groups: list[CalibrationGroup],
    *,
    title: str = "shadow calibration",
    show_namespace: bool = True,
) -> Table:
    """One row per (namespace, source): Brier, ECE and AUC of both scores, the Brier of
    the recalibrated caller score, the difference, the verdict.

    ``c->d`` reads caller -> derived; ``recal`` is the caller's score through the
    cross-fitted isotonic calibration; :func:`verdict_lines` adds the reasons, the Brier
    decomposition and the ECE level a perfectly calibrated score would show.
    """

    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("namespace/source" if show_namespace else "source", style="bold", min_width=6)
    table.add_column("labeled/rows", justify="right")
    table.add_column("Brier c->d", justify="right", no_wrap=True)
    table.add_column("ECE c->d", justify="right", no_wrap=True)
    table.add_column("AUC c->d", justify="right", no_wrap=True)
    table.add_column("recal", justify="right", no_wrap=True)
    table.add_column("dBrier [95%]", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True, min_width=7)
    for g in groups:
        c, d = g.caller_calibration, g.derived_calibration
        diff = "-"
        if g.brier_diff_interval is not None:
            low, high = g.brier_diff_interval
            diff = f"{low:+.3f}..{high:+.3f}"
        table.add_row(
            f"{g.namespace}/{g.source}" if show_namespace else g.source,
            f"{g.labeled:,}/{g.count:,}",
            f"{cli.num(c.brier if c else None, '.3f')}->{cli.num(d.brier if d else None, '.3f')}",
            f"{cli.num(c.ece if c else None, '.3f')}->{cli.num(d.ece if d else None, '.3f')}",
            f"{cli.num(c.auc.value if c and c.auc else None, '.2f')}->"
            f"{cli.num(d.auc.value if d and d.auc else None, '.2f')}",
            cli.num(g.recalibration.brier if g.recalibration else None, ".3f"),
            diff,
            f"[{_VERDICT_STYLE[g.verdict]}]{_SHORT_VERDICT.get(g.verdict, g.verdict)}[/]",
        )
    return table


def verdict_lines(groups: list[CalibrationGroup], *, show_namespace: bool = True) -> list[str]:
    """One line per group: verdict, reason, the ECE a perfect score would show, and the
    Brier decomposition (reliability: miscalibration, lower is better; resolution: how
    far outcomes differ between score levels, higher is better)."""
    lines = []
    for g in groups:
        name = f"{g.namespace}/{g.source}" if show_namespace else g.source
        line = f"  [bold]{name}[/]: {g.verdict} - {g.reason}"
        if g.derived_calibration is not None:
            line += (
                f"; a perfectly calibrated score would show ECE "
                f"~{g.derived_calibration.ece_perfect:.3f} on these rows"
            )
        parts = [
            f"{label} reliability {cal.decomposition.reliability:.4f}, "
            f"resolution {cal.decomposition.resolution:.4f}"
            for label, cal in (("caller", g.caller_calibration), ("derived", g.derived_calibration))
            if cal is not None and cal.decomposition is not None
        ]
        if parts:
            line += "; Brier decomposition: " + "; ".join(parts)
        lines.append(line)
    return lines


def offpolicy_table(estimates: list[OffPolicyEstimate]) -> Table:
    """One row per (decision point, candidate): live value, IPS and SNIPS with intervals."""

    from rich import box
    from rich.table import Table

    table = Table(title="shadow decisions (off-policy)", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("point/candidate", style="bold", min_width=12)
    table.add_column("rewarded", justify="right", no_wrap=True)
    table.add_column("live", justify="right")
    table.add_column("IPS [95%]", justify="right", no_wrap=True)
    table.add_column("SNIPS [95%]", justify="right", no_wrap=True)

    for e in estimates:

        def cell(value: float | None, interval: tuple[float, float] | None) -> str:
            if value is None or interval is None:
                return "-"
            return f"{value:.3f} [{interval[0]:.2f}-{interval[1]:.2f}]"

        table.add_row(
            f"{e.point}/{e.candidate}",
            f"{e.rewarded:,}/{e.decisions:,}",
            cli.num(e.live_value, ".3f"),
            cell(e.ips, e.ips_interval),
            cell(e.snips, e.snips_interval),
        )
    return table


def plot_reliability(groups: list[CalibrationGroup], path: Path) -> None:
    """Write a reliability diagram (PNG or SVG by suffix), one panel per group."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise cli.fail(
            "--plot needs matplotlib: pip install 'outcomes[plot]'", cli.EXIT_USAGE
        ) from exc
    shown = [g for g in groups if g.caller_calibration or g.derived_calibration][:12]
    cols = min(3, max(1, len(shown)))
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, g in zip(axes.flat, shown, strict=False):
        ax.set_visible(True)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
        for label, cal in (("caller", g.caller_calibration), ("derived", g.derived_calibration)):
            if cal is None:
                continue
            xs = [b.mean_score for b in cal.reliability]
            ys = [b.observed_rate for b in cal.reliability]
            ax.plot(xs, ys, marker="o", label=f"{label} (ECE {cal.ece:.3f})")
        ax.set_title(f"{g.namespace}/{g.source}: {g.verdict}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean score in bin")
        ax.set_ylabel("observed rate")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@app.command("report")
def report(
    namespace: str | None = Option(None, "--namespace", help="Only this namespace."),
    plot: Path | None = Option(
        None, "--plot", help="Also write a reliability diagram (.png or .svg)."
    ),
    min_labeled: int = Option(
        200, "--min-labeled", min=1, help="Labeled rows a group needs for a verdict."
    ),
    db: str | None = cli.DbOption,
    as_json: bool = cli.JsonOption,
) -> None:
    """Calibration of the caller's vs the derived confidence, per namespace and source."""
    if plot is not None and plot.suffix.lower() not in {".png", ".svg"}:
        raise cli.fail(f"--plot must end in .png or .svg, got {plot.name!r}", cli.EXIT_USAGE)
    with cli.opened_store(db) as store:
        groups = calibration_report(store, namespace=namespace, min_labeled=min_labeled)
        decisions = offpolicy_report(store)
    if plot is not None:
        plot_reliability(groups, plot)
    if as_json:
        cli.print_json(report_json(groups))
        return
    if not groups:
        cli.console.print("no shadow observations yet (set OUTCOMES_CONFIDENCE_SHADOW=1)")
    else:
        cli.console.print(report_table(groups))
        for line in verdict_lines(groups):
            cli.console.print(line)
    if decisions:
        cli.console.print(offpolicy_table(decisions))
    if plot is not None:
        cli.console.print(f"reliability diagram written to {plot}")


@app.command("decisions")
def decisions(
    point: str | None = Option(None, "--point", help="Only this decision point."),
    db: str | None = cli.DbOption,
    as_json: bool = cli.JsonOption,
) -> None:
    """Off-policy estimates (IPS, SNIPS) of candidate policies logged in shadow."""
    with cli.opened_store(db) as store:
        estimates = offpolicy_report(store, point=point)
    cli.show_list(
        estimates,
        as_json,
        to_json=lambda e: e.as_dict(),
        empty="no shadow decisions yet",
        table=offpolicy_table,
    )


@app.command("gc")
def gc(
    retention_days: float = Option(
        DEFAULT_RETENTION_DAYS,
        "--retention-days",
        help="Delete observations and decisions older than this; <= 0 keeps everything.",
    ),
    db: str | None = cli.DbOption,
    as_json: bool = cli.JsonOption,
) -> None:
    """Delete shadow rows older than the retention window."""
    with cli.opened_store(db) as store:
        removed = gc_observations(store, retention_days)
    if as_json:
        cli.print_json({"removed": removed, "retention_days": retention_days})
    elif retention_days <= 0:
        cli.console.print("retention <= 0: shadow rows are kept forever; nothing removed")
    else:
        cli.console.print(f"removed {removed:,} shadow rows older than {retention_days:g} days")
