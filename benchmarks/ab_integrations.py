"""Two source trees' OpenAI instrumentation timed alternately, in fresh processes.

``python -m benchmarks.ab_integrations SRC_A SRC_B [ROUNDS [CALLS]]`` runs, ROUNDS times
(default 4), one process with ``SRC_A`` first on ``sys.path`` then one with ``SRC_B``;
each pairs CALLS (default 400) bare and instrumented chat calls, then as many streams,
against the local fake server (the pairing of ``bench_integrations``: bare, instrumented,
bare, ... alternating which goes first) and prints the medians of the paired differences
of wall time and of the calling thread's CPU time. Alternating the trees puts both in the
same window of a shared machine's load. ``SRC_A`` is typically the ``src`` of a detached
worktree of main (``git worktree add --detach /tmp/base main``), ``SRC_B`` this change's.

``--litellm`` first (``python -m benchmarks.ab_integrations --litellm SRC_A SRC_B [ROUNDS
[CHUNKS]]``) times the LiteLLM logger instead: ``bench_integrations``' part 2 in each
process (``acompletion(mock_response=...)`` with :class:`OutcomesLogger` against a no-op
callback, CHUNKS alternating chunks of 5 calls, default 40), printing both medians and
the logger's added share of the call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _paired(
    bare: Callable[[], object], inst: Callable[[], object], n: int
) -> tuple[float, float, float]:
    """(median bare wall us, median paired wall diff us, median paired thread-CPU diff us)."""
    wall: dict[Callable[[], object], list[float]] = {bare: [], inst: []}
    cpu: dict[Callable[[], object], list[float]] = {bare: [], inst: []}
    for k in range(n):
        for fn in (bare, inst) if k % 2 == 0 else (inst, bare):
            w0, c0 = time.perf_counter(), time.thread_time()
            fn()
            wall[fn].append(time.perf_counter() - w0)
            cpu[fn].append(time.thread_time() - c0)
    dw = [x - y for x, y in zip(wall[inst], wall[bare], strict=True)]
    dc = [x - y for x, y in zip(cpu[inst], cpu[bare], strict=True)]
    return (
        statistics.median(wall[bare]) * 1e6,
        statistics.median(dw) * 1e6,
        statistics.median(dc) * 1e6,
    )


def _one(n: int) -> str:
    import tempfile

    import openai
    from tests.fakes.llm_server import FakeLLMServer, Reply

    from benchmarks.bench_integrations import chat_call as call
    from benchmarks.bench_integrations import chat_stream as stream
    from outcomes.inference import OutcomeTracker
    from outcomes.integrations.openai import instrument
    from outcomes.store import SQLiteStore

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "ab.db")
        tracker = OutcomeTracker(store)
        with FakeLLMServer([Reply(content="a short answer of a few words")]) as server:
            bare = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            inst = instrument(
                openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0), tracker
            )
            for fn in (call(bare), call(inst), stream(bare), stream(inst)):
                for _ in range(20):
                    fn()
            for label, make in (("chat", call), ("stream", stream)):
                b, dw, dc = _paired(make(bare), make(inst), n)
                out.append(f"{label} wall +{dw:.1f} us ({dw / b * 100:.2f}%) cpu +{dc:.1f} us")
        tracker.close()
        store.close()
    return " | ".join(out)


def _one_litellm(chunks: int) -> str:
    import tempfile

    from benchmarks._harness import Context
    from benchmarks.bench_integrations import _litellm_logger
    from outcomes.inference import OutcomeTracker
    from outcomes.integrations.litellm import OutcomesLogger
    from outcomes.store import SQLiteStore

    # The logger's own work, timed where it runs (LiteLLM's logging task on the event
    # loop): far steadier than the difference of two noisy call medians.
    spent: list[float] = []
    record = OutcomesLogger._record

    def timed(self: OutcomesLogger, *args: Any) -> None:
        c0 = time.thread_time()
        record(self, *args)
        spent.append(time.thread_time() - c0)

    OutcomesLogger._record = timed  # type: ignore[method-assign]
    ctx = Context()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "ab.db")
        tracker = OutcomeTracker(store)
        record_later = tracker.record_later

        def later(record: Callable[[float], object]) -> None:
            def timed_record(at: float) -> None:
                c0 = time.thread_time()
                record(at)
                deferred.append(time.thread_time() - c0)

            record_later(timed_record)

        deferred: list[float] = []
        tracker.record_later = later  # type: ignore[method-assign]
        _litellm_logger(ctx, tracker, chunks)
        tracker.close()
        store.close()
    first = ctx.results[0]
    work = statistics.median(spent) * 1e6
    later = statistics.median(deferred) * 1e6 if deferred else 0.0
    return (
        f"{first.value:+.2f}% ({first.notes}) | logger CPU {work:.1f} us/call ({len(spent)})"
        f" + deferred on the writer {later:.1f} us/call ({len(deferred)})"
    )


def main(argv: list[str]) -> int:
    mode = "--one"
    if argv[:1] == ["--litellm"]:
        mode, argv = "--one-litellm", argv[1:]
    if len(argv) >= 2 and argv[0] in ("--one", "--one-litellm"):
        print((_one if argv[0] == "--one" else _one_litellm)(int(argv[1])))
        return 0
    if len(argv) < 2:
        print(__doc__)
        return 2
    rounds = int(argv[2]) if len(argv) > 2 else 4
    calls = argv[3] if len(argv) > 3 else ("400" if mode == "--one" else "40")
    print(f"load average {os.getloadavg()[0]:.2f}")
    for _ in range(rounds):
        for name, src in (("A", argv[0]), ("B", argv[1])):
            env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{ROOT}")
            env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            line = subprocess.run(
                [sys.executable, "-m", "benchmarks.ab_integrations", mode, calls],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            print(f"{name}: {line}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
