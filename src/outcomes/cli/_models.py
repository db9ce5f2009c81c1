"""``outcomes models``, ``outcomes profiles rebuild`` and ``outcomes ingest``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from outcomes import config
from outcomes.cli._common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    opened_store,
    print_json,
)
from outcomes.config import WriterSettings
from outcomes.errors import ConfigError
from outcomes.inference import ModelProfile, OutcomeTracker, ProfileBook, ingest_stream, rebuild
from outcomes.inference._files import atomic_write, state_file_text
from outcomes.registry import ModelRegistry
from outcomes.store import BackgroundWriter

app = typer.Typer(
    help="Model leaderboard from outcomes: success with intervals, quality, latency, cost.",
    invoke_without_command=True,
)
profiles_app = typer.Typer(help="Model profiles: rebuild them from the stored receipts.")

TaskOption = typer.Option(None, "--task", help="Only this task (default: all tasks together).")
ProjectOption = typer.Option(None, "--project", help="Only calls of this project id.")


CACHE_FILENAME = "profiles.cache.json"


def _cache() -> Path | None:
    """The CLI's profile cache, kept only when the home folder exists."""
    home = config.home()
    return home / CACHE_FILENAME if home.is_dir() else None


def _num(value: float | None, fmt: str, missing: str = "-") -> str:
    return missing if value is None else format(value, fmt)


def _success(p: ModelProfile) -> str:
    interval = p.success_interval()
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


def sort_key(p: ModelProfile) -> tuple[float, float, str]:
    """Leaderboard order: posterior mean success, then quality, then id."""
    return (-p.success_mean, -(p.quality if p.quality is not None else 0.0), p.model_id)


def leaderboard_table(
    profiles: list[ModelProfile], *, title: str = "models", by: str = "model"
) -> Table:
    """One row per profile; ``by="task"`` labels rows by task (one model's breakdown)."""
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
            _num(p.quality, ".2f"),
            f"{_num(p.latency_p50_ms, '.0f')}/{_num(p.latency_p95_ms, '.0f')}",
            _num(p.cost_per_success, ".2g"),
        )
    return table


@app.callback()
def models(
    ctx: typer.Context,
    task: str | None = TaskOption,
    project: str | None = ProjectOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Leaderboard of every model with recorded calls (best first)."""
    if ctx.invoked_subcommand is not None:
        return
    with opened_store(db) as store:
        book = ProfileBook(store, cache=_cache())
        profiles = sorted(book.profiles(task=task, project_id=project), key=sort_key)
    if json:
        print_json([p.to_json() for p in profiles])
        return
    if not profiles:
        console.print("no model calls recorded yet (see docs/inference.md)")
        return
    title = (
        "models"
        + (f" · task {task}" if task else "")
        + (f" · project {project}" if project else "")
    )
    console.print(leaderboard_table(profiles, title=title))


@app.command("show")
def show(
    model: str = typer.Argument(..., help="Model id."),
    project: str | None = ProjectOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """One model: overall and per task, with its registry entry."""
    with opened_store(db) as store:
        profile = ProfileBook(store, cache=_cache()).profile(model, project_id=project)
    if profile is None:
        raise fail(f"no recorded calls for model {model!r}", EXIT_USAGE)
    try:
        info = ModelRegistry.load().get(model)
    except ConfigError as exc:
        err_console.print(f"[yellow]warning:[/] {exc}", highlight=False)
        info = None
    per_task = [profile.for_task(t) for t in profile.tasks]
    if json:
        print_json(
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
    console.print(leaderboard_table([profile, *per_task], title=model, by="task"))
    console.print(
        f"ema quality (seed compatibility) {profile.ema_quality:.3f}; "
        f"quality per 1k tokens {profile.quality_per_1k_tokens:.4f}; "
        f"cost per call {_num(profile.cost_per_call, '.6f', 'unknown')} USD",
        highlight=False,
    )
    if info is None:
        console.print("not in the model registry (prices unknown unless calls reported cost)")


@profiles_app.command("rebuild")
def rebuild_cmd(
    out: Path | None = typer.Option(None, "--out", help="Also save the profiles to this file."),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Fold every stored receipt into fresh profiles (streamed, constant memory).

    Also drops the cache that ``outcomes models`` keeps between runs.
    """
    cache = _cache()
    if cache is not None:
        cache.unlink(missing_ok=True)
    started = time.perf_counter()
    with opened_store(db) as store:
        state = rebuild(store)
    seconds = time.perf_counter() - started
    if out is not None:
        try:
            atomic_write(out, state_file_text(state))
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_USAGE) from None
    summary = {
        "receipts": state.receipts,
        "models": len(state.model_ids()),
        "cells": len(state.parts),
        "seconds": round(seconds, 3),
        "saved_to": None if out is None else str(out),
    }
    if json:
        print_json(summary)
        return
    console.print(
        f"rebuilt profiles of {summary['models']} models ({summary['cells']} model/task/project "
        f"cells) from {summary['receipts']} receipts in {seconds:.2f} s",
        highlight=False,
    )


def ingest(
    file: str = typer.Argument(..., help="JSON-lines file of lifecycle events, or - for stdin."),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Record lifecycle events (start/complete/failure/signal) from JSON lines.

    Bad lines are reported with their line number and skipped; good ones are kept.
    Records wait for room in the writer's queue (never dropped). Exit 0 when every line
    was good and stored, 1 when some were skipped or not stored, 2 for an unreadable file.
    """
    with opened_store(db) as store:
        # A bulk path waits for room in the writer's queue instead of dropping records.
        writer = BackgroundWriter(store, WriterSettings.from_env(overflow="block"))
        tracker = OutcomeTracker(store, writer=writer, strict=True)
        try:
            if file == "-":
                report = ingest_stream(tracker, sys.stdin.buffer)
            else:
                try:
                    with open(file, "rb") as stream:
                        report = ingest_stream(tracker, stream)
                except OSError as exc:
                    raise fail(f"cannot read {file}: {exc.strerror}", EXIT_USAGE) from None
        finally:
            tracker.close()
            committed = writer.close(timeout=None)
    stats = writer.stats()
    lost = stats.dropped + stats.failed + (0 if committed else stats.queued)
    if json:
        print_json({**report.to_json(), "lost": lost})
    else:
        console.print(
            f"{report.applied} events recorded, {report.ignored} changed nothing, "
            f"{report.invalid} bad lines skipped",
            highlight=False,
        )
        for p in report.problems:
            err_console.print(f"line {p.line}: {p.reason}", highlight=False, markup=False)
    if lost:
        err_console.print(f"{lost} records were not stored (see outcomes doctor)", markup=False)
    raise typer.Exit(EXIT_PROBLEMS if report.invalid or lost else EXIT_OK)


def register(root: typer.Typer) -> None:
    """Add ``models``, ``profiles`` and ``ingest`` to the root command."""
    root.add_typer(app, name="models")
    root.add_typer(profiles_app, name="profiles")
    root.command("ingest")(ingest)
