"""Demo part: a plugin recommender learns which components fail, get removed or conflict."""

from __future__ import annotations

import time

from rich.table import Table

from outcomes.cli._components import conflict_table, report_table
from outcomes.components import ComponentTracker, OutcomeType
from outcomes.demo import DemoContext
from outcomes.testing import FakeClock
from outcomes.testing.components import SESSION_SPACING, SimComponent, simulate

PREFIX = "demo/"
PLANTED = (f"{PREFIX}cache-layer", f"{PREFIX}fast-orm")


def _population(sessions: int) -> list[SimComponent]:
    p = PREFIX
    comps = [
        SimComponent(f"{p}{name}", install_prob=0.8, fail_prob=0.25, use_prob=0.8)
        for name in ("lint-core", "formatter", "git-hooks", "test-runner", "docs-gen")
    ]
    comps += [
        SimComponent(f"{p}{name}", install_prob=0.25, fail_prob=0.05)
        for name in ("cache-layer", "fast-orm", "auth-kit", "metrics", "i18n", "queue", "mailer")
    ]
    comps += [
        SimComponent(f"{p}native-build", install_prob=0.15, fail_prob=0.6),
        SimComponent(f"{p}noisy-notifier", install_prob=0.2, fail_prob=0.05, remove_prob=0.4),
        SimComponent(
            f"{p}old-bundler", install_prob=0.1, fail_prob=0.1, deprecated_after=sessions // 2
        ),
        SimComponent(f"{p}new-plugin", install_prob=0.01, fail_prob=0.1),
    ]
    comps += [
        SimComponent(f"{p}extra-{i:02d}", install_prob=0.05, fail_prob=0.1) for i in range(20)
    ]
    return comps


def run(ctx: DemoContext) -> None:
    sessions = max(200, min(ctx.calls // 5, 5_000))
    start = ctx.started - sessions * SESSION_SPACING
    events = simulate(
        _population(sessions),
        sessions,
        rng=ctx.rng,
        conflicts=[PLANTED],
        conflict_fail_prob=0.85,
        start=start,
        id_prefix=f"demo-{ctx.seed}-{ctx.started}",
    )
    # Replay the simulated sessions through the public hot path, on a clock that
    # follows the simulated time, into the demo's store via its background writer.
    clock = FakeClock(start)
    tracker = ComponentTracker(ctx.store, writer=ctx.writer, clock=clock)
    t0 = time.perf_counter()
    with ctx.progress("recording component outcomes", len(events)) as advance:
        for i, e in enumerate(events):
            clock.set(e.timestamp)
            tracker.record_outcome(
                e.component_id, OutcomeType(e.outcome), e.context, session_id=e.session_id
            )
            if i % 1_000 == 999:
                advance(1_000)
    elapsed = time.perf_counter() - t0
    tracker.flush(timeout=60)
    ctx.console.print(
        f"{len(events):,} outcomes from {sessions:,} install sessions recorded in "
        f"{elapsed * 1e3:,.0f} ms ({elapsed / len(events) * 1e6:.1f} us each, stored in the "
        "background)"
    )

    reports = [r for r in tracker.report() if r.component_id.startswith(PREFIX)]
    flagged = sorted((r for r in reports if r.flags), key=lambda r: r.component_id)
    popular = sorted(reports, key=lambda r: -r.attempts)[:5]
    shown = flagged + [r for r in popular if r not in flagged]
    ctx.console.print(report_table(shown, title="flagged and most installed components"))

    raw = tracker.get_co_failure_pairs()
    analysis = tracker.find_conflicts()
    planted = tuple(sorted(PLANTED))
    found = any((c.component_a, c.component_b) == planted for c in analysis.conflicts)
    ctx.console.print(
        f"the raw rule (failing together in >= 2 sessions) flags {len(raw)} pairs, "
        "mostly popular components that simply fail often on their own"
    )
    ctx.console.print(conflict_table(analysis, title="tested conflicts"))
    ctx.console.print(
        f"planted conflict {planted[0]} + {planted[1]}: "
        + ("[green]found[/]" if found else "[red]not found[/]")
    )

    table = Table(title="ranking multipliers for a recommender")
    table.add_column("component", style="bold")
    table.add_column("multiplier", justify="right")
    table.add_column("why")
    for cid in (f"{PREFIX}lint-core", f"{PREFIX}native-build", f"{PREFIX}old-bundler"):
        m = tracker.ranking_multiplier(cid)
        table.add_row(cid, f"{m.value:.2f}", "; ".join(m.reasons))
    ctx.console.print(table)
