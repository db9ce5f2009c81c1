"""Run the benchmarks: ``python -m benchmarks [NAME ...] [--quick] [--json FILE]``.

Every ``benchmarks/bench_*.py`` module is discovered; NAME selects modules by their
suffix (``writer`` runs ``bench_writer``). Prints one table of measurements with their
same-run references, ratios and targets; exits 1 if a target was missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks._harness import Context


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (all: {', '.join(_modules())})"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for smoke tests")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--n",
        help="sizes for the benchmarks that take them, comma-separated (scale: 100000,1000000)",
    )
    args = parser.parse_args(argv)
    names = args.names or _modules()
    unknown = set(names) - set(_modules())
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    console = Console()
    sizes = [int(x) for x in args.n.split(",")] if args.n else None
    ctx = Context(quick=args.quick, sizes=sizes)
    for name in names:
        ctx.current = name
        console.print(f"[bold]running[/] bench_{name} ...")
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        module.run(ctx)
        console.print(f"  done in {time.perf_counter() - start:.1f}s")

    table = Table(title="outcomes benchmarks")
    for col in ("bench", "measure", "value", "reference", "ratio", "target", "ok"):
        table.add_column(col)
    for r in ctx.results:
        ref = f"{r.reference_value:,.4g} ({r.reference_name})" if r.reference_value else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        ok = "" if r.passed is None else ("yes" if r.passed else "[red]NO[/]")
        table.add_row(r.bench, r.name, f"{r.value:,.4g} {r.unit}", ref, ratio, r.target or "", ok)
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in ctx.results], indent=2))
    return 1 if any(r.passed is False for r in ctx.results) else 0


if __name__ == "__main__":
    sys.exit(main())
