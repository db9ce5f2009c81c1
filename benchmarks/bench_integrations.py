"""Integration overhead: added time per instrumented client call, and the LiteLLM routing
strategy's selection time.

1. OpenAI SDK against the local fake server (127.0.0.1): the same chat call through a
   bare client and through an instrumented one, **paired** (bare, instrumented, bare, ...
   so a busy spell of the machine slows both alike). Reported: the median of the paired
   differences as a share of the bare call's median (target <= 2%), non-streaming and
   streaming. The difference of two HTTP round trips is noisy; the recording work alone
   (the wrapper around a create() that returns a ready response, no I/O) is reported too,
   as a share of the same bare call: that is the added time without the noise. Both are
   the caller's thread: an answered call's receipt is built on the writer's thread
   (``OutcomeTracker.record_later``), which these lines do not time.
2. LiteLLM ``mock_response``: ``acompletion`` with and without :class:`OutcomesLogger`
   registered, in alternating chunks of 5 calls (LiteLLM's callbacks cannot be toggled per call),
   against a no-op callback too: LiteLLM builds its logging payload only when a callback
   is registered.
3. LiteLLM over loopback HTTP: ``acompletion`` to the same fake server with no callback,
   a no-op callback and :class:`OutcomesLogger`, rotated per call (LiteLLM's callback lists
   are reset and set before each call, outside the time), each call timed until LiteLLM's
   logging worker has run its success handler. Reported: the median of the per-round
   differences (logger minus no-op) of wall time as a share of the bare call's wall, and
   of the event loop's thread CPU as a share of the bare call's (steadier on a loaded
   machine), and the logger's own work timed in place. Unlike ``mock_response`` the call
   waits on a socket, as a real provider's does. The sync ``completion`` is not timed: its
   logging runs on LiteLLM's thread pool, off the caller's thread, in the same ``_record``.
4. Selection inside LiteLLM: ``Router.select(group)`` with
   :class:`OutcomesRoutingStrategy` installed against a Router on LiteLLM's default
   ``simple-shuffle``, same deployments, interleaved.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import Context
from outcomes.inference import OutcomeTracker
from outcomes.store import SQLiteStore

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download at import

MESSAGES = [{"role": "user", "content": "benchmark prompt, a short one"}]


def _paired_ms(
    bare: Callable[[], object], instrumented: Callable[[], object], n: int
) -> tuple[float, float, float]:
    """(median bare ms, median instrumented ms, median of paired differences ms)."""
    clock = time.perf_counter
    b: list[float] = []
    i: list[float] = []
    for k in range(n):
        order = (bare, instrumented) if k % 2 == 0 else (instrumented, bare)
        for fn in order:
            t0 = clock()
            fn()
            dt = (clock() - t0) * 1000.0
            (b if fn is bare else i).append(dt)
    diffs = [x - y for x, y in zip(i, b, strict=True)]
    return statistics.median(b), statistics.median(i), statistics.median(diffs)


def chat_call(client: Any) -> Callable[[], object]:
    """One chat call of ``client`` (answered in full)."""
    return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def chat_stream(client: Any) -> Callable[[], object]:
    """One streamed chat call of ``client``, read to its end (usage chunk included)."""

    def run() -> None:
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True},
        ):  # fmt: skip
            pass

    return run


def _openai(ctx: Context, tracker: OutcomeTracker, n: int) -> None:
    import openai
    from tests.fakes.llm_server import FakeLLMServer, Reply

    from outcomes.integrations.openai import instrument

    with FakeLLMServer([Reply(content="a short answer of a few words")]) as server:
        bare = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        inst = instrument(
            openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0), tracker
        )
        call, stream = chat_call, chat_stream
        for fn in (call(bare), call(inst), stream(bare), stream(inst)):
            for _ in range(20):
                fn()  # warm connections and imports
        for label, make in (("chat", call), ("chat stream", stream)):
            mb, mi, md = _paired_ms(make(bare), make(inst), n)
            ctx.report(
                f"openai {label}: added time per call (median paired diff)",
                md / mb * 100.0, "% of bare",
                reference_name=f"bare call {mb:.3f} ms", reference_value=None,
                target="<= 2%", passed=md / mb <= 0.02,
                notes=f"bare {mb:.3f} ms, instrumented {mi:.3f} ms, diff {md * 1000:.1f} us",
            )  # fmt: skip
        reply = call(bare)()
        mb = statistics.median(_times(call(bare), n // 2))
        in_situ = _in_situ_us(server.base_url, tracker, n)
        bare.close()
        inst.close()
    ctx.report(
        "openai chat: recording work per call, around the real call", in_situ / 1000.0 / mb * 100,
        "% of bare", target="<= 2%", passed=in_situ / 1000.0 / mb <= 0.02,
        notes=f"{in_situ:.1f} us per call (instrumented call minus the SDK's own create(), "
        "median): the same work as below with the caches the HTTP call left behind",
    )  # fmt: skip

    # The recording work alone: the wrapper around a create() that returns at once.
    from outcomes.integrations._wrap import patch
    from outcomes.integrations.openai import CHAT

    class Ready:
        def create(self, **kwargs: Any) -> Any:
            return reply

    stub = Ready()
    patch(stub, "create", tracker, None, CHAT, is_async=False)
    raw = Ready()
    per = statistics.median(
        _times(lambda: stub.create(model="gpt-4o-mini", messages=MESSAGES), 20_000, ns=True)
    )
    ref = statistics.median(
        _times(lambda: raw.create(model="gpt-4o-mini", messages=MESSAGES), 20_000, ns=True)
    )
    added_ms = (per - ref) / 1e6
    ctx.report(
        "openai chat: recording work per call (no I/O)", added_ms / mb * 100.0, "% of bare",
        target="<= 2%", passed=added_ms / mb <= 0.02,
        notes=f"{(per - ref) / 1000:.1f} us per call on the caller's thread (the receipt is "
        f"built on the writer's); bare HTTP call {mb:.3f} ms",
    )  # fmt: skip


def _in_situ_us(base_url: str, tracker: OutcomeTracker, n: int) -> float:
    """Median us an instrumented chat call spends outside the SDK's own ``create()``."""
    import openai

    from outcomes.integrations.openai import instrument

    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    sdk_create = client.chat.completions.create
    clock = time.perf_counter_ns
    inner: list[int] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        result = sdk_create(*args, **kwargs)
        inner.append(clock() - t0)
        return result

    client.chat.completions.create = timed  # type: ignore[method-assign]
    instrument(client, tracker)
    outer: list[int] = []
    for _ in range(20 + n):
        t0 = clock()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        outer.append(clock() - t0)
    client.close()
    return statistics.median(o - i for o, i in list(zip(outer, inner, strict=True))[20:]) / 1000


def _times(fn: Callable[[], object], n: int, *, ns: bool = False) -> list[float]:
    out: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t0 = clock()
        fn()
        dt = clock() - t0
        out.append(float(dt) if ns else dt / 1e6)
    return out


def _noop_callback() -> Any:
    """A LiteLLM callback that does nothing, with the same four methods and signatures as
    OutcomesLogger (LiteLLM passes ``kwargs=`` by keyword): LiteLLM's own cost of having
    such a callback."""
    from litellm.integrations.custom_logger import CustomLogger

    class NoOp(CustomLogger):  # type: ignore[misc]
        def log_success_event(
            self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            return None

        log_failure_event = log_success_event

        async def async_log_success_event(
            self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            return None

        async_log_failure_event = async_log_success_event

    return NoOp()


def _litellm_logger(ctx: Context, tracker: OutcomeTracker, chunks: int) -> None:
    import litellm

    from outcomes.integrations.litellm import OutcomesLogger

    reset = litellm.logging_callback_manager._reset_all_callbacks
    setups: list[Any] = [None, _noop_callback(), OutcomesLogger(tracker)]

    async def chunk(n: int) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="ok")
            out.append((time.perf_counter() - t0) * 1000.0)
        return out

    async def scenario() -> list[list[float]]:
        out: list[list[float]] = [[] for _ in setups]
        await chunk(20)
        for k in range(chunks):
            order = list(enumerate(setups))
            if k % 2:
                order.reverse()
            for j, callback in order:
                reset()
                if callback is not None:
                    litellm.callbacks = [callback]
                out[j].extend(await chunk(5))
                await asyncio.sleep(0.01)  # let the logging tasks of the chunk finish
        reset()
        return out

    bare, noop, ours = (statistics.median(x) for x in asyncio.run(scenario()))
    ctx.report(
        "litellm mock_response: OutcomesLogger vs a no-op callback", (ours - noop) / noop * 100.0,
        "% of call", target="<= 2%", passed=(ours - noop) / noop <= 0.02,
        notes=f"no-op callback {noop:.3f} ms, OutcomesLogger {ours:.3f} ms (chunks of 5)",
    )  # fmt: skip
    ctx.report(
        "litellm mock_response: OutcomesLogger vs no callback", (ours - bare) / bare * 100.0,
        "% of bare", notes=f"bare {bare:.3f} ms: LiteLLM's logging machinery runs only "
        "when a callback is registered, and is most of this",
    )  # fmt: skip


def _litellm_http(ctx: Context, tracker: OutcomeTracker, rounds: int) -> None:
    """``litellm.acompletion`` over loopback HTTP to the fake server: no callback, a no-op
    callback and :class:`OutcomesLogger`, one call each per round in a rotating order.

    A call is timed until LiteLLM's logging worker has run its success handler (where the
    logger's work happens), so the logger's time is inside the call it belongs to and not
    the next one. Wall and the event loop's thread CPU are reported as the median of the
    per-round differences (logger minus no-op) over the bare call's median wall.
    """
    import itertools

    import litellm
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
    from tests.fakes.llm_server import FakeLLMServer, Reply

    from outcomes.integrations.litellm import OutcomesLogger

    logger = OutcomesLogger(tracker)
    spent: list[float] = []  # the logger's own work, thread CPU where it runs
    record = logger._record

    def timed(*args: Any) -> None:
        c0 = time.thread_time()
        record(*args)
        spent.append(time.thread_time() - c0)

    logger._record = timed  # type: ignore[method-assign]
    setups: list[Any] = [None, _noop_callback(), logger]
    wall: list[list[float]] = [[] for _ in setups]
    cpu: list[list[float]] = [[] for _ in setups]
    reset = litellm.logging_callback_manager._reset_all_callbacks

    with FakeLLMServer([Reply(content="a short answer of a few words")]) as server:

        async def one(callback: Any, w: list[float], c: list[float]) -> None:
            reset()
            if callback is not None:
                litellm.callbacks = [callback]
            c0, t0 = time.thread_time(), time.perf_counter()
            await litellm.acompletion(
                model="openai/gpt-4o-mini", messages=MESSAGES, api_base=server.base_url,
                api_key="k",
            )  # fmt: skip
            await GLOBAL_LOGGING_WORKER.flush()
            w.append((time.perf_counter() - t0) * 1000.0)
            c.append((time.thread_time() - c0) * 1000.0)

        async def scenario() -> None:
            for _ in range(10):  # warm connections, imports and LiteLLM's caches
                for callback in setups:
                    await one(callback, [], [])
            spent.clear()
            orders = list(itertools.permutations(range(len(setups))))
            # LiteLLM leaves cyclic garbage by the thousand objects per call, so a
            # collection (milliseconds on its heap) lands in one call or another at
            # random: the largest noise of the paired differences. Collected between
            # rounds instead, outside the time, with the warm heap frozen.
            gc.collect()
            gc.freeze()
            gc.disable()
            try:
                for k in range(rounds):
                    for j in orders[k % len(orders)]:
                        await one(setups[j], wall[j], cpu[j])
                    if k % 10 == 9:
                        gc.collect()
            finally:
                gc.enable()
                gc.unfreeze()

        asyncio.run(scenario())
    reset()
    bare, noop, ours = (statistics.median(x) for x in wall)
    dw = statistics.median(x - y for x, y in zip(wall[2], wall[1], strict=True))
    dc = statistics.median(x - y for x, y in zip(cpu[2], cpu[1], strict=True))
    c_noop, c_ours = statistics.median(cpu[1]), statistics.median(cpu[2])
    work = statistics.median(spent) * 1e6
    ctx.report(
        "litellm acompletion over HTTP: OutcomesLogger vs a no-op callback, wall",
        dw / bare * 100.0, "% of bare", target="<= 2%", passed=dw / bare <= 0.02,
        notes=f"median of {rounds} paired differences {dw * 1000:.1f} us; bare {bare:.3f} ms, "
        f"no-op {noop:.3f} ms, OutcomesLogger {ours:.3f} ms (medians, call + its logging)",
    )  # fmt: skip
    # The CPU lines divide by the bare call's own event-loop CPU, a lower bound of its wall
    # time that a loaded machine does not inflate: a conservative share.
    c_bare = statistics.median(cpu[0])
    ctx.report(
        "litellm acompletion over HTTP: the same, event loop's CPU", dc / c_bare * 100.0,
        "% of bare CPU", target="<= 2%", passed=dc / c_bare <= 0.02,
        notes=f"median of the paired differences {dc * 1000:.1f} us; per call: bare "
        f"{c_bare:.3f} ms, no-op {c_noop:.3f} ms, OutcomesLogger {c_ours:.3f} ms",
    )  # fmt: skip
    ctx.report(
        "litellm acompletion over HTTP: the logger's own work, timed in place",
        work / 1000.0 / c_bare * 100.0, "% of bare CPU", target="<= 2%",
        passed=work / 1000.0 / c_bare <= 0.02,
        notes=f"{work:.1f} us thread CPU per call in OutcomesLogger._record (median of "
        f"{len(spent)}); an answered call's receipt is then built on the writer's thread",
    )  # fmt: skip
    ctx.report(
        "litellm acompletion over HTTP: OutcomesLogger vs no callback, event loop's CPU",
        (c_ours - c_bare) / c_bare * 100, "% of bare CPU", notes="the no-op callback: "
        f"{(c_noop - c_bare) / c_bare * 100:+.2f}% (LiteLLM builds its logging payload only "
        "when a callback is registered)",
    )  # fmt: skip


def _litellm_strategy(ctx: Context, tracker: OutcomeTracker, n: int) -> None:
    import litellm

    from outcomes.integrations.litellm import OutcomesRoutingStrategy

    model_list = [
        {
            "model_name": "group",
            "litellm_params": {"model": f"openai/model-{i}", "mock_response": "ok", "api_key": "k"},
            "model_info": {"id": f"d{i}"},
        }
        for i in range(5)
    ]
    shuffle = litellm.Router(model_list=model_list, routing_strategy="simple-shuffle")
    ours = litellm.Router(model_list=model_list)
    OutcomesRoutingStrategy(ours, tracker, seed=1).install()
    full = litellm.Router(model_list=model_list)
    OutcomesRoutingStrategy(full, tracker, seed=1, full_checks=True).install()
    litellm.logging_callback_manager._reset_all_callbacks()
    strategy = OutcomesRoutingStrategy(ours, tracker, seed=1)
    candidates = [f"openai/model-{i}" for i in range(5)]

    async def timed(router: Any) -> float:
        t0 = time.perf_counter_ns()
        await router.select("group", {})
        return (time.perf_counter_ns() - t0) / 1000.0

    async def scenario() -> list[list[float]]:
        routers = (shuffle, ours, full)
        out: list[list[float]] = [[] for _ in routers]
        for _ in range(50):
            for router in routers:
                await timed(router)
        for k in range(n):
            order = list(enumerate(routers))
            if k % 2:
                order.reverse()
            for j, router in order:
                out[j].append(await timed(router))
        return out

    a, b, c = (statistics.median(x) for x in asyncio.run(scenario()))
    ctx.report(
        "litellm Router.select: OutcomesRoutingStrategy (5 deployments)", b, "us",
        reference_name="simple-shuffle", reference_value=a,
        notes="median; candidates = the group minus LiteLLM's cooldowns",
    )  # fmt: skip
    ctx.report(
        "litellm Router.select: OutcomesRoutingStrategy full_checks=True", c, "us",
        reference_name="simple-shuffle", reference_value=a,
        notes="median; candidates from LiteLLM's select(kind='healthy')",
    )  # fmt: skip
    decide = [0.0] * min(n, 2000)
    for k in range(len(decide)):
        t0 = time.perf_counter_ns()
        strategy.router.decide("generate", candidates=candidates).propensity  # noqa: B018
        decide[k] = (time.perf_counter_ns() - t0) / 1000.0
    ctx.report(
        "outcomes decide() + propensity alone (5 candidates)", statistics.median(decide), "us",
        reference_name="simple-shuffle select", reference_value=a,
    )  # fmt: skip


def run(ctx: Context) -> None:
    n = 150 if ctx.quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        tracker = OutcomeTracker(store)
        try:
            _openai(ctx, tracker, n)
            _litellm_logger(ctx, tracker, 20 if ctx.quick else 40)
            _litellm_http(ctx, tracker, 60 if ctx.quick else 300)
            _litellm_strategy(ctx, tracker, 300 if ctx.quick else 1000)
        finally:
            tracker.close()
            store.close()
