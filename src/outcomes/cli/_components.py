"""The ``outcomes components`` group: report, conflicts, record, rebuild."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Option
from outcomes.components import ComponentReport, ComponentTracker, ConflictAnalysis

if TYPE_CHECKING:
    from rich.table import Table


app = cli.new_app(
    help="Component outcomes: installs, usage, removals, deprecations, conflicts.",
    no_args_is_help=True,
)

GapOption = Option(
    60.0,
    "--session-gap",
    min=0.001,
    help="Seconds of silence that end a session without a session id.",
)


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


_SHORT_FLAGS = {"frequently removed": "removed", "problematic": "failing"}


def report_table(reports: list[ComponentReport], *, title: str = "components") -> Table:
    """A table of component reports, flagged components first."""

    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("component", style="bold", no_wrap=True)
    table.add_column("ok/n", justify="right", no_wrap=True)
    table.add_column("success [95%]", justify="right", no_wrap=True)
    table.add_column("P<.5", justify="right", no_wrap=True)
    table.add_column("rm", justify="right", no_wrap=True)
    table.add_column("flags", min_width=10)
    for r in reports:
        if r.success_interval is None:
            success = "unknown"
        else:
            low, high = r.success_interval
            success = f"{_pct(r.success_rate)} [{100 * low:.0f}-{100 * high:.0f}]"
        flags = ", ".join(_SHORT_FLAGS.get(f, f) for f in r.flags)
        table.add_row(
            r.component_id,
            f"{r.successes}/{r.attempts}",
            success,
            "" if r.prob_rate_below_half is None else f"{r.prob_rate_below_half:.2f}",
            (
                f"{r.removal_count} ({r.removal_count / r.successes:.0%})"
                if r.successes and r.removal_count
                else str(r.removal_count)
            ),
            f"[red]{flags}[/]" if flags else "",
        )
    return table


def conflict_table(analysis: ConflictAnalysis, *, title: str = "conflicts") -> Table:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"{title}: {len(analysis.conflicts)} of {analysis.pairs_tested} co-failing pairs "
        f"over {analysis.sessions} sessions, {analysis.outage_sessions} of them outages "
        f"(BH q <= {analysis.fdr:g})",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("component a", style="bold", no_wrap=True)
    table.add_column("component b", style="bold", no_wrap=True)
    table.add_column("joint", justify="right", no_wrap=True)
    table.add_column("a/b", justify="right", no_wrap=True)
    table.add_column("lift", justify="right", no_wrap=True)
    table.add_column("q", justify="right", no_wrap=True)
    table.add_column("conf", justify="right", no_wrap=True)
    for c in analysis.conflicts:
        table.add_row(
            c.component_a,
            c.component_b,
            str(c.joint_failures),
            f"{c.failures_a}/{c.failures_b}",
            f"{c.lift:.1f}",
            f"{c.q_value:.2g}",
            f"{c.confidence:.1f}",
        )
    return table


@app.command("report")
def report(
    flagged: bool = Option(
        False, "--flagged", help="Only problematic, frequently removed or deprecated ones."
    ),
    min_removals: int = Option(
        2, "--min-removals", min=1, help="Removals that make a component frequently removed."
    ),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Per-component install success with 95% intervals, usage, removals and flags."""
    with (
        cli.opened_store(db) as store,
        ComponentTracker(store, min_removals=min_removals) as tracker,
    ):
        reports = tracker.report()
    if flagged:
        reports = [r for r in reports if r.flags]
    cli.show_list(
        reports,
        json,
        to_json=ComponentReport.to_json,
        empty="no component outcomes recorded" + (" are flagged" if flagged else ""),
        table=lambda rs: report_table(sorted(rs, key=lambda r: (not r.flags, r.component_id))),
    )


@app.command("conflicts")
def conflicts(
    min_joint: int = Option(
        3, "--min-joint", min=1, help="Sessions in which both must have failed."
    ),
    min_lift: float = Option(
        2.0, "--min-lift", min=0.0, help="Joint failures over what independence predicts."
    ),
    fdr: float = Option(
        0.05, "--fdr", min=1e-9, max=0.999, help="Benjamini-Hochberg false discovery rate."
    ),
    raw: bool = Option(
        False, "--raw", help="Show raw co-failure counts (>= 2 sessions) instead of tests."
    ),
    session_gap: float = GapOption,
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Pairs that fail together more often than chance (Fisher exact test, BH-corrected)."""

    from rich.table import Table

    with cli.opened_store(db) as store, ComponentTracker(store, session_gap=session_gap) as tracker:
        if raw:
            pairs = tracker.get_co_failure_pairs()
            if json:
                cli.print_json(
                    [{"component_a": a, "component_b": b, "sessions": n} for a, b, n in pairs]
                )
                return
            table = Table(title=f"raw co-failures: {len(pairs)} pairs (not tested)")
            for col in ("component a", "component b", "sessions failing together"):
                table.add_column(col)
            for a, b, n in pairs:
                table.add_row(a, b, str(n))
            cli.console.print(table)
            return
        analysis = tracker.find_conflicts(min_joint=min_joint, min_lift=min_lift, fdr=fdr)
    if json:
        cli.print_json(analysis.to_json())
        return
    if not analysis.conflicts:
        cli.console.print(
            f"no conflicts: {analysis.pairs_tested} co-failing pairs tested over "
            f"{analysis.sessions} sessions, {analysis.outage_sessions} of them outages "
            f"(needs >= {min_joint} joint failures, "
            f"lift >= {min_lift:g}, BH q <= {fdr:g})"
        )
        return
    cli.console.print(conflict_table(analysis))


@app.command("record")
def record(
    component: str = Argument(..., help="The component id."),
    outcome: str = Argument(
        ...,
        help="install_success, install_failure, used_in_session, removed_by_user or deprecated.",
    ),
    session: str | None = Option(None, "--session", help="The install session's id."),
    context: str = Option(
        "", "--context", help="Free text such as an error (redacted, 256 characters)."
    ),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Record one outcome (for shell scripts and hooks)."""
    with cli.opened_store(db) as store:
        tracker = ComponentTracker(store)
        try:
            tracker.record_outcome(component, outcome, context, session_id=session)
        finally:
            tracker.close()
        if tracker.writer.stats().written + tracker.writer.stats().duplicates < 1:
            raise cli.fail("the store did not accept the event (see the log)", cli.EXIT_STORE)
        stats = tracker.get_stats(component)
    if json:
        cli.print_json(
            {"component_id": component, "outcome": outcome, "session_id": session}
            | ({"stats": ComponentReport.from_stats(stats).to_json()} if stats else {})
        )
        return
    cli.err_console.print(f"recorded {outcome} for {component}", highlight=False)


@app.command("rebuild")
def rebuild(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Rebuild the per-component totals the reports read from every stored event."""
    from outcomes.components._records import ComponentEvent
    from outcomes.store import rebuild_aggregates

    with cli.opened_store(db) as store:
        ComponentTracker(store).close()  # migrates the components' tables
        rebuilt = rebuild_aggregates(store, ComponentEvent.__table__)
    if json:
        cli.print_json({"rebuilt": rebuilt})
        return
    cli.err_console.print(f"rebuilt {rebuilt} aggregate table(s) from the stored events")
