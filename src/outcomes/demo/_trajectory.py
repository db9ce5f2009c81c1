"""Demo part: simulated code-review runs record their decision trails, then get verdicts."""

from __future__ import annotations

import random

from rich.table import Table

from outcomes._ids import new_id
from outcomes.cli._trajectory import ladder
from outcomes.demo import DemoContext
from outcomes.trajectory import (
    AnnRecall,
    ChunksRetrieved,
    FinalDecision,
    HybridFusion,
    LlmCall,
    PastVerdictsRecalled,
    RecalledVerdict,
    RetrievalFilter,
    RulesApplied,
    RuleSource,
    SelfCheck,
    SignatureConfidenceAdjust,
    TrajectoryBuilder,
    TrajectoryStore,
)

RUNS = 12
PERSPECTIVES = ("safety", "performance", "style", "api_design")
SYMBOLS = ("parse_request", "handler", "retry_loop", "Cache.get", "render", "open_db", "auth")
PAST = (
    ("avoid unwrap in request handlers", "fn handler() { let body = req.body().unwrap(); … }"),
    ("close files on error paths", "f = open(path)\nif not ok: return  # leaks f"),
    ("bounded retries with backoff", "while True: try: send() except: continue"),
)


def simulate_run(rng: random.Random, start: float) -> tuple[TrajectoryBuilder, list[float]]:
    """One review run as a pipeline would record it; returns the builder and, per emitted
    issue, the pipeline's confidence in it."""
    b = TrajectoryBuilder()
    t = start

    def tick(ms: float) -> tuple[float, float]:
        nonlocal t
        at, t = t, t + ms / 1000
        return at, ms

    before = rng.randint(200, 2_000)
    at, ms = tick(rng.uniform(1, 4))
    b.push(RetrievalFilter(before, before // rng.randint(3, 8), started_at=at, duration_ms=ms))
    fts, emb = rng.randint(5, 30), rng.randint(5, 30)
    at, ms = tick(rng.uniform(2, 9))
    b.push(AnnRecall(True, rng.randint(5_000, 50_000), emb, started_at=at, duration_ms=ms))
    b.push(HybridFusion(fts, emb, rng.randint(0, min(fts, emb))))
    count = rng.randint(3, 8)
    scores = sorted((round(rng.uniform(0.55, 0.97), 2) for _ in range(count)), reverse=True)
    at, ms = tick(rng.uniform(3, 12))
    b.push(ChunksRetrieved(count, rng.sample(SYMBOLS, 3), scores, started_at=at, duration_ms=ms))
    b.push(
        RulesApplied([f"r{n}" for n in rng.sample(range(1, 41), 3)], rng.choice(list(RuleSource)))
    )
    recalled = [
        RecalledVerdict(
            f"verdict-{rng.randint(1, 999)}", title, round(rng.uniform(0.6, 0.95), 2), ex
        )
        for title, ex in rng.sample(PAST, 2)
    ]
    b.push(PastVerdictsRecalled(2, [v.similarity for v in recalled], recalled))
    for perspective in PERSPECTIVES:
        at, ms = tick(rng.uniform(400, 2_500))
        b.push(
            LlmCall(
                perspective,
                rng.randint(1_500, 6_000),
                rng.randint(40, 600),
                trace_id=new_id(),
                started_at=at,
                duration_ms=ms,
            )
        )
    found = rng.randint(3, 6)
    dropped = rng.randint(0, 2)
    confidences = [rng.uniform(0.4, 0.98) for _ in range(found - dropped)]
    avg = sum(confidences) / len(confidences) if confidences else 0.0
    at, ms = tick(rng.uniform(200, 900))
    b.push(SelfCheck(len(confidences), dropped, round(avg, 3), started_at=at, duration_ms=ms))
    b.push(SignatureConfidenceAdjust(rng.randint(0, 2), rng.randint(0, 1)))
    b.push(FinalDecision([f"issue-{k + 1}" for k in range(len(confidences))]))
    return b, confidences


def run(ctx: DemoContext) -> None:
    ts = TrajectoryStore(ctx.store)
    rng = ctx.rng
    runs: list[str] = []
    judged = 0
    for i in range(RUNS):
        builder, confidences = simulate_run(rng, ctx.started + 60 * i)
        run_id = f"pr-{101 + i}-{new_id()[-4:]}"
        while ts.run(run_id) is not None:  # the demo store may hold earlier demo runs
            run_id = f"pr-{101 + i}-{new_id()[-4:]}"
        ts.save(run_id, builder.steps, project_id="demo")
        runs.append(run_id)
        # Later, developers act on the findings: confident ones are usually right.
        for k, confidence in enumerate(confidences):
            if rng.random() < 0.8:
                roll = rng.random()
                verdict = (
                    "fixed"
                    if roll < confidence * 0.6
                    else "accepted"
                    if roll < confidence
                    else "dismissed"
                )
                ts.record_verdict(run_id, f"issue-{k + 1}", verdict)
                judged += 1

    # Show the run whose findings got the most verdicts.
    shown = max(runs, key=lambda r: (len(ts.verdicts(r)), r))
    header = ts.run(shown)
    steps = ts.get_json(shown)
    assert header is not None
    assert steps is not None
    verdicts = {k: r.intent or "" for k, r in ts.verdicts(shown).items()}
    ctx.console.print(ladder(header, steps, verdicts))

    table = Table(
        title=f"{RUNS} review runs, {judged} verdicts on emitted issues", title_justify="left"
    )
    table.add_column("run", no_wrap=True)
    for col in ("steps", "issues", "accepted", "fixed", "dismissed", "pending", "precision"):
        table.add_column(col, justify="right")
    for run_id in runs[:6]:
        p = ts.precision(run_id=run_id)
        table.add_row(
            run_id,
            str(len(ts.get_json(run_id) or [])),
            str(p.issues),
            str(p.accepted),
            str(p.fixed),
            str(p.dismissed),
            str(p.pending),
            f"{p.precision:.0%}" if p.precision is not None else "-",
        )
    overall = ts.precision(pipeline="review")
    interval = overall.interval
    table.add_section()
    table.add_row(
        f"all {overall.runs}",
        "",
        str(overall.issues),
        str(overall.accepted),
        str(overall.fixed),
        str(overall.dismissed),
        str(overall.pending),
        f"{overall.precision:.0%}" if overall.precision is not None else "-",
    )
    ctx.console.print(table)
    if interval is not None and overall.precision is not None:
        ctx.console.print(
            f"precision of emitted issues: {overall.precision:.0%} "
            f"(95% interval {interval[0]:.0%}-{interval[1]:.0%}, {overall.judged} verdicts)"
        )
    ctx.console.print(
        "[dim]each verdict is a receipt (kind review_finding) on the ledger; "
        f"`outcomes trajectory show {shown}` shows this run again[/]"
    )
