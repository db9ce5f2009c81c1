"""The ``outcomes models`` group: the leaderboard of models, and one model in detail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from outcomes import config
from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Context, Option
from outcomes.errors import ConfigError, ValidationError
from outcomes.inference import (
    ModelProfile,
    ProfileBook,
    ProfileFilter,
    matching_profiles,
    parse_since,
)
from outcomes.inference._view import leaderboard_order

if TYPE_CHECKING:
    from rich.table import Table

app = cli.new_app(
    help="Model leaderboard from outcomes: success with intervals, quality, latency, cost.",
    invoke_without_command=True,
)

TaskOption = Option(None, "--task", help="Only this task (default: all tasks together).")
ProjectOption = Option(None, "--project", help="Only calls of this project id.")
TagOption = Option(None, "--tag", help="Only calls tagged so by feedback.")
SinceOption = Option(
    None, "--since", help="Only calls first recorded within this duration (90m, 12h, 7d, 2w)."
)
PlotOption = Option(
    None, "--plot", help="Also draw quality, p95 latency and cost per success to this PNG/SVG/PDF."
)


CACHE_FILENAME = "profiles.cache.json"


def profile_cache() -> Path | None:
    """The CLI's profile cache, kept only when the home folder exists."""
    home = config.home()
    return home / CACHE_FILENAME if home.is_dir() else None


def _success(p: ModelProfile) -> str:
    # The observed rate with the interval that always contains it (Wilson), never with
    # the posterior's, which can exclude it (2 of 2: 100% beside [29-99]).
    interval = p.wilson_interval()
    rate = p.observed_success_rate
    if interval is None or rate is None:
        return "unknown"
    return f"{rate:.0%} [{100 * interval[0]:.0f}-{100 * interval[1]:.0f}]"


def _flags(p: ModelProfile) -> str:
    flags = []
    if p.excluded:
        flags.append("excluded")
    if p.degraded:
        flags.append("degraded")
    return ", ".join(flags)


def leaderboard_table(
    profiles: list[ModelProfile], *, title: str = "models", by: str = "model"
) -> Table:
    """One row per profile; ``by="task"`` labels rows by task (one model's breakdown)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(by, style="bold", no_wrap=True)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("success [95%]", justify="right", no_wrap=True)
    table.add_column("quality", justify="right", no_wrap=True)
    table.add_column("p50/p95 ms", justify="right", no_wrap=True)
    table.add_column("$/ok", justify="right", no_wrap=True, min_width=7)
    for p in profiles:
        label = p.model_id if by == "model" else (p.task or "all tasks")
        flags = _flags(p)
        table.add_row(
            f"{label} [red]({flags})[/]" if flags else label,
            str(p.calls),
            _success(p),
            cli.num(p.quality, ".2f"),
            f"{cli.num(p.latency_p50_ms, '.0f')}/{cli.num(p.latency_p95_ms, '.0f')}",
            cli.num(p.cost_per_success, ".2g"),
        )
    return table


def profile_filter(
    task: str | None, project: str | None, tag: str | None, since: str | None
) -> ProfileFilter:
    """The filter the options name; a bad value exits 2 naming the option."""
    try:
        at = None if since is None else parse_since(since, time.time())
        return ProfileFilter(task=task, project_id=project, tag=tag, since=at)
    except ValidationError as exc:
        raise cli.fail(f"--{exc.where or 'option'}: {exc.reason}", cli.EXIT_USAGE) from None


@app.callback()
def models(
    ctx: Context,
    task: str | None = TaskOption,
    project: str | None = ProjectOption,
    tag: str | None = TagOption,
    since: str | None = SinceOption,
    plot: Path | None = PlotOption,
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Leaderboard of every model with recorded calls (best first)."""
    if ctx.invoked_subcommand is not None:
        return
    flt = profile_filter(task, project, tag, since)
    with cli.opened_store(db) as store:
        book = ProfileBook(store, cache=profile_cache())
        profiles = sorted(matching_profiles(store, flt, book=book), key=leaderboard_order)
    if plot is not None:
        draw_plot(profiles, plot, title=_title(task, project, tag, since))
    cli.show_list(
        profiles,
        json,
        to_json=lambda p: p.to_json(),
        empty="no model calls recorded yet (see docs/inference.md)",
        table=lambda ps: leaderboard_table(ps, title=_title(task, project, tag, since)),
    )


def _title(task: str | None, project: str | None, tag: str | None, since: str | None) -> str:
    return (
        "models"
        + (f" · task {task}" if task else "")
        + (f" · project {project}" if project else "")
        + (f" · tag {tag}" if tag else "")
        + (f" · since {since}" if since else "")
    )


def draw_plot(profiles: list[ModelProfile], path: Path, *, title: str) -> None:
    """Write the picture of ``profiles`` to ``path`` (needs the ``[plot]`` extra)."""
    from outcomes.cli._plot import PlotError, plot_profiles

    try:
        plot_profiles(profiles, path, title=title)
    except PlotError as exc:
        raise cli.fail(f"--plot: {exc}", cli.EXIT_USAGE) from None
    cli.err_console.print(f"plot written to {path}", highlight=False, markup=False)


@app.command("show")
def show(
    model: str = Argument(..., help="Model id."),
    project: str | None = ProjectOption,
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """One model: overall and per task, with its registry entry."""
    with cli.opened_store(db) as store:
        book = ProfileBook(store, cache=profile_cache())
        profile = book.profile(model, project_id=project)
        recorded = [] if profile is not None else book.read(lambda s: s.model_ids())
    if profile is None:
        import difflib

        close = difflib.get_close_matches(model, recorded, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise cli.fail(f"no recorded calls for model {model!r}{hint}", cli.EXIT_USAGE)
    from outcomes.registry import ModelRegistry

    try:
        info = ModelRegistry.load().get(model)
    except ConfigError as exc:
        cli.err_console.print(f"[yellow]warning:[/] {exc}", highlight=False)
        info = None
    per_task = [profile.for_task(t) for t in profile.tasks]
    if json:
        cli.print_json(
            {
                "model": profile.to_json(),
                "tasks": [p.to_json() for p in per_task],
                "registry": None
                if info is None
                else {
                    "provider": info.provider,
                    "usd_per_1m_input": info.usd_per_1m_input,
                    "usd_per_1m_output": info.usd_per_1m_output,
                    "context_window": info.context_window,
                    "tasks": list(info.tasks),
                    "local": info.local,
                    "prior": info.prior,
                },
            }
        )
        return
    cli.console.print(leaderboard_table([profile, *per_task], title=model, by="task"))
    cli.console.print(
        f"ema quality (order-dependent, as the earlier tracker) {profile.ema_quality:.3f}; "
        f"quality per 1k tokens {profile.quality_per_1k_tokens:.4f}; "
        f"cost per call {cli.num(profile.cost_per_call, '.6f', 'unknown')} USD",
        highlight=False,
    )
    if info is None:
        cli.console.print("not in the model registry (prices unknown unless calls reported cost)")
