"""Two source trees' ``outcomes`` commands timed side by side, interleaved, in fresh processes.

``python -m benchmarks.ab_cli SRC_A SRC_B DB_URL [ROUNDS [COMMAND...]]`` runs, ROUNDS
times (default 41), ``outcomes --version``, ``models --json --db DB_URL`` and ``ledger
stats --json --db DB_URL`` (or, when given, each COMMAND: words split on spaces, run with
``--db DB_URL`` added, such as ``"components report --json"``) once with
``PYTHONPATH=SRC_A`` and once with ``SRC_B``, one after the other, and
prints the medians of wall and CPU time (user + system of the child) with each command's
ratio to that tree's ``--version``. Alternating the trees puts both in the same window of
a shared machine's load, which a run of each after the other does not (docs/scaling.md:
the ``--version`` reference moved 19.4-28.3 ms between benchmark runs minutes apart).
Bytecode is compiled first and ``PYTHONDONTWRITEBYTECODE`` dropped, as ``bench_scale``
does. ``SRC_A`` is typically a detached worktree of main (``git worktree add --detach
/tmp/base main``), ``SRC_B`` this change's ``src``.
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "outcomes"), *args],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main(argv: list[str]) -> None:
    src_a, src_b, url = argv[:3]
    rounds = int(argv[3]) if len(argv) > 3 else 41
    reads = argv[4:] or ["models --json", "ledger stats --json"]
    commands = {"--version": ["--version"]} | {read: [*read.split(), "--db", url] for read in reads}
    trees = [src_a, src_b]
    for src in trees:
        compileall.compile_dir(Path(src) / "outcomes", quiet=1)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {
        (src, name): [] for src in trees for name in commands
    }
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as home:
        for _ in range(rounds):
            for name, args in commands.items():
                for src in trees:
                    env = {**os.environ, "PYTHONPATH": src, "OUTCOMES_HOME": home}
                    env.pop("PYTHONDONTWRITEBYTECODE", None)
                    env.pop("OUTCOMES_DB_URL", None)
                    times[src, name].append(_time(args, env))
    print(f"load average (1 min) {load:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for src in trees:
        ref = [statistics.median(x) for x in zip(*times[src, "--version"], strict=True)]
        for name in commands:
            wall, cpu = (statistics.median(x) for x in zip(*times[src, name], strict=True))
            print(
                f"{src}  {name:26s} wall {wall * 1000:6.1f} ms ({wall / ref[0]:.2f}x)  "
                f"CPU {cpu * 1000:6.1f} ms ({cpu / ref[1]:.2f}x)"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
