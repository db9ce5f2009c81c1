"""Start-up cost of the command line, against starting Python itself.

``outcomes --version`` must answer at about the cost of ``python -c pass`` (it returns
before the command-line layer or any wing is imported) and ``outcomes models --json`` on
a small store must stay a small multiple of it (only the models command's module and what
it needs load: no numpy, no scipy, no routing, no rich). ``outcomes --help`` imports every
command's module to list them, so it shows what the whole command line costs to load.
Each command runs as a fresh subprocess, as a user or a script would run it; runs of the
command and of the reference alternate, so a busy spell of the machine slows both, and
the medians are compared. The measure is the CPU time
of the child (user + system), as in issue 13's "1.2-1.9 CPU seconds": on a shared machine
wall time mostly measures the other tenants. Wall-time medians go in the notes.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Context
from outcomes.records import Receipt
from outcomes.store import SQLiteStore

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-7b-local")
TASKS = ("generate", "code", "classify", "reasoning")


def _outcomes() -> list[str]:
    """The installed ``outcomes`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("outcomes")
    return [str(script)] if script.exists() else [sys.executable, "-m", "outcomes.cli"]


def _small_store(path: Path, n: int) -> None:
    rng = random.Random(1)
    store = SQLiteStore(path)
    store.write(
        [
            Receipt(
                receipt_id=f"r{i}",
                trace_id=f"t{i}",
                model_id=rng.choice(MODELS),
                task=rng.choice(TASKS),
                timestamp=1_750_000_000.0 + i,
                success=rng.random() < 0.8,
                latency_ms=rng.uniform(100, 2000),
                input_tokens=rng.randint(10, 2000),
                output_tokens=rng.randint(1, 800),
                cost_usd=rng.uniform(0, 0.01),
            )
            for i in range(n)
        ]
    )
    store.close()


def _cost(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _medians(
    command: list[str], reference: list[str], env: dict[str, str], runs: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (CPU, wall) seconds of ``command`` and of ``reference``, runs alternating."""
    _cost(command, env)  # warm the file cache (and the models cache) before measuring
    ours, ref = [], []
    for _ in range(runs):
        ours.append(_cost(command, env))
        ref.append(_cost(reference, env))

    def median(samples: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(c for c, _ in samples), statistics.median(w for _, w in samples)

    return median(ours), median(ref)


def _report(
    ctx: Context,
    label: str,
    runs: int,
    measured: tuple[tuple[float, float], tuple[float, float]],
    target: float | None,
) -> None:
    (cpu, wall), (ref_cpu, ref_wall) = measured
    ctx.report(
        f"{label}, CPU, median of {runs} runs",
        cpu * 1000,
        "ms",
        reference_name="python -c pass",
        reference_value=ref_cpu * 1000,
        target=None if target is None else f"<= {target:g}x",
        passed=None if target is None else cpu <= target * ref_cpu,
        notes=f"wall {wall * 1000:.1f} ms vs {ref_wall * 1000:.1f} ms",
    )


def run(ctx: Context) -> None:
    runs = 5 if ctx.quick else 21
    receipts = 300 if ctx.quick else 3_000
    python = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        for home in (empty, full):
            home.mkdir(mode=0o700)
        _small_store(empty / "outcomes.db", 0)
        _small_store(full / "outcomes.db", receipts)
        base = {**os.environ}
        base.pop("OUTCOMES_DB_URL", None)
        # As installed for a user: bytecode cached after the first run (the warm-up run).
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        for label, args, home, target in (
            ("outcomes --version", ["--version"], empty, 4.0),
            ("outcomes models --json (empty store)", ["models", "--json"], empty, 6.0),
            (f"outcomes models --json ({receipts:,} receipts)", ["models", "--json"], full, 6.0),
            (
                f"outcomes ledger stats --json ({receipts:,} receipts)",
                ["ledger", "stats", "--json"],
                full,
                6.0,
            ),
            ("outcomes --help (loads every command)", ["--help"], empty, None),
        ):
            env = {**base, "OUTCOMES_HOME": str(home)}
            measured = _medians([*_outcomes(), *args], python, env, runs)
            _report(ctx, label, runs, measured, target)
        for module in ("outcomes", "outcomes.records"):
            # ``outcomes.records`` is the floor of any command that reads the store: the
            # receipt Struct, msgspec and the settings.
            measured = _medians([sys.executable, "-c", f"import {module}"], python, base, runs)
            _report(ctx, f"python -c 'import {module}'", runs, measured, None)
