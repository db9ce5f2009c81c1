"""The LiteLLM integration: the logger and the routing strategy inside real LiteLLM calls
(``mock_response`` and the fake server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# LiteLLM fetches its price map from the internet unless told not to; tests stay offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import contextlib

import litellm
import openai
from litellm.integrations.custom_logger import CustomLogger

from outcomes.inference import OutcomeTracker
from outcomes.integrations.litellm import (
    NoHealthyDeployment,
    OutcomesLogger,
    OutcomesRoutingStrategy,
)
from outcomes.records import Receipt
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Router
from outcomes.testing import FakeClock, MemoryStore
from tests.fakes.llm_server import FakeLLMServer
from tests.integrations.conftest import ANSWER, PROMPT, closing, db_bytes, stored

MESSAGES = [{"role": "user", "content": PROMPT}]

# LiteLLM's own models warn about themselves under pydantic; nothing of ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*is using the `ReadOnly` qualifier:UserWarning",
    "ignore:.*are using the `ReadOnly` qualifier:UserWarning",
)


@pytest.fixture(autouse=True)
def _callbacks() -> Iterator[None]:
    # LiteLLM copies ``litellm.callbacks`` into lists of its own on first use and never
    # drops them: each test starts and ends with none registered.
    reset = litellm.logging_callback_manager._reset_all_callbacks
    reset()
    yield
    reset()


def wait_for(tracker: OutcomeTracker, count: int, timeout: float = 15.0) -> list[Receipt]:
    """LiteLLM runs sync callbacks on a thread of its own: wait until ``count`` arrived."""
    deadline = time.monotonic() + timeout
    got = stored(tracker)
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        got = stored(tracker)
    return got


def logging_to(tracker: OutcomeTracker) -> OutcomesLogger:
    logger = OutcomesLogger(tracker)
    litellm.callbacks = [logger]
    return logger


def test_a_sync_call_is_recorded_with_litellms_cost_and_call_id(tracker: OutcomeTracker) -> None:
    logging_to(tracker)
    reply: Any = litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER)
    [r] = wait_for(tracker, 1)
    assert (r.model_id, r.task, r.success) == ("gpt-4o-mini", "generate", True)
    assert r.input_tokens > 0
    assert r.output_tokens > 0
    assert r.cost_usd == pytest.approx(reply._hidden_params["response_cost"])
    assert r.trace_id == reply._hidden_params["litellm_call_id"]
    time.sleep(0.3)
    assert len(stored(tracker)) == 1  # recorded once


def test_async_and_streaming_calls_are_recorded_once_each(tracker: OutcomeTracker) -> None:
    logging_to(tracker)

    async def scenario() -> None:
        await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER)
        stream: Any = await litellm.acompletion(
            model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER, stream=True
        )
        async for _ in stream:
            pass
        await asyncio.sleep(0.3)

    asyncio.run(scenario())
    got = wait_for(tracker, 2)
    time.sleep(0.3)
    got = stored(tracker)
    assert len(got) == 2
    assert all(r.success and r.output_tokens > 0 for r in got)
    # Only the stream has a time to first token; LiteLLM's mock gives it no delay.
    assert sorted(r.ttft_ms is None for r in got) == [False, True]
    assert all(r.ttft_ms is None or 0 <= r.ttft_ms <= r.latency_ms for r in got)


def test_an_outside_trace_id_and_task_come_from_metadata(tracker: OutcomeTracker) -> None:
    logging_to(tracker)
    litellm.completion(
        model="gpt-4o-mini",
        messages=MESSAGES,
        mock_response=ANSWER,
        metadata={"outcomes_trace_id": "ticket-77", "outcomes_task": "support"},
    )
    [r] = wait_for(tracker, 1)
    assert (r.trace_id, r.task) == ("ticket-77", "support")


def test_a_rate_limit_is_a_failure_that_starts_a_cooldown(tracker: OutcomeTracker) -> None:
    logging_to(tracker)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="gpt-4o-mini", messages=MESSAGES, mock_response="litellm.RateLimitError"
        )
    [r] = wait_for(tracker, 1)
    assert r.success is False
    assert r.error is not None
    assert "429 rate_limit" in r.error
    assert tracker.cooldown_until("gpt-4o-mini") is not None


class Capture(CustomLogger):  # type: ignore[misc]
    """Keeps the kwargs LiteLLM reports each success with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.seen.append(kwargs)


def deferring(tracker: OutcomeTracker) -> list[object]:
    """Spy on ``tracker.record_later``: the calls handed to it (still recorded)."""
    handed: list[object] = []
    record_later = tracker.record_later

    def spy(record: Callable[[float], object]) -> None:
        handed.append(record)
        record_later(record)

    tracker.record_later = spy  # type: ignore[method-assign]
    return handed


def test_a_success_writes_the_receipt_record_start_and_record_complete_wrote() -> None:
    # The receipt before this logger recorded in one step: record_start then
    # record_complete with the same payload, on a second tracker at the same clock.
    now, before = (
        OutcomeTracker(MemoryStore(), clock=FakeClock()),
        OutcomeTracker(MemoryStore(), clock=FakeClock()),
    )
    handed = deferring(now)
    capture = Capture()
    litellm.callbacks = [OutcomesLogger(now), capture]
    meta = {"outcomes_propensity": 0.25, "outcomes_reason": "cheapest", "outcomes_task": "qa"}
    reply: Any = litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER, metadata=meta
    )
    [r] = wait_for(now, 1)
    assert len(handed) == 1  # LiteLLM's call id: built on the writer's thread
    [kwargs] = capture.seen
    slo = kwargs["standard_logging_object"]
    trace = before.record_start(
        slo["model"], "qa", "cheapest", propensity=0.25, trace_id=kwargs["litellm_call_id"]
    )
    before.record_complete(
        trace, (slo["endTime"] - slo["startTime"]) * 1000.0, slo["prompt_tokens"],
        slo["completion_tokens"], cost_usd=slo["response_cost"],
    )  # fmt: skip
    [old] = stored(before)
    assert r.trace_id == reply._hidden_params["litellm_call_id"]
    assert (r.propensity, r.routing_reason, r.task, r.success) == (0.25, "cheapest", "qa", True)
    assert r.cost_usd is not None
    assert r.cost_usd > 0
    for name in r.__struct_fields__:
        assert getattr(r, name) == getattr(old, name), name
    now.close()
    before.close()


def test_an_outside_trace_id_and_a_failure_are_recorded_at_once() -> None:
    tracker = OutcomeTracker(MemoryStore(), clock=FakeClock())
    handed = deferring(tracker)
    logging_to(tracker)
    litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER,
        metadata={"outcomes_trace_id": "ticket-78"},
    )  # fmt: skip
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="gpt-4o-mini", messages=MESSAGES, mock_response="litellm.RateLimitError"
        )
    got = wait_for(tracker, 2)
    assert sorted(r.success for r in got) == [False, True]
    assert "ticket-78" in {r.trace_id for r in got}
    assert handed == []
    tracker.close()


def test_calls_to_the_local_server_are_recorded_with_its_usage(
    tracker: OutcomeTracker, server: FakeLLMServer
) -> None:
    logging_to(tracker)
    # Our own SDK client, closed by the test (LiteLLM would cache one and keep its socket).
    client = closing(openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0))
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=server.base_url,
        api_key="k",
        client=client,
    )
    [r] = wait_for(tracker, 1)
    assert (r.input_tokens, r.output_tokens, r.success) == (11, 7, True)


def deployments(*specs: tuple[str, str, object]) -> list[dict[str, Any]]:
    return [
        {
            "model_name": "group",
            "litellm_params": {"model": model, "mock_response": reply, "api_key": "k"},
            "model_info": {"id": ident},
        }
        for ident, model, reply in specs
    ]


def routed(
    tracker: OutcomeTracker, model_list: list[dict[str, Any]], **router_kw: Any
) -> tuple[litellm.Router, OutcomesRoutingStrategy]:
    router = litellm.Router(model_list=model_list, num_retries=0, **router_kw)
    strategy = OutcomesRoutingStrategy(router, tracker, seed=7).install()
    strategy.router.refresh_s = 0.0
    return router, strategy


def run_calls(router: litellm.Router, n: int, between: Callable[[int], None] | None = None) -> None:
    async def scenario() -> None:
        for i in range(n):
            with contextlib.suppress(Exception):
                await router.acompletion(model="group", messages=MESSAGES)
            if between is not None:
                between(i)
        await asyncio.sleep(0.2)

    asyncio.run(scenario())


def test_the_strategy_logs_its_propensity_and_learns_from_the_calls_it_routed(
    tracker: OutcomeTracker,
) -> None:
    model_list = deployments(
        ("A", "openai/broken-model", Exception("upstream broke")),
        ("B", "openai/gpt-4o-mini", ANSWER),
        ("C", "openai/gpt-4o", ANSWER),
    )
    # The broken model is listed as the strongest (a registry prior of 0.9), so the
    # router tries it first whatever the timing of the logged outcomes; only what those
    # calls teach it can take it off. (Without priors, whether a Thompson draw tries a
    # model before its rivals' successes pile up depends on when outcomes are read.)
    registry = ModelRegistry()
    for name, prior in (("broken-model", 0.9), ("gpt-4o-mini", 0.5), ("gpt-4o", 0.5)):
        registry.add(ModelInfo(f"openai/{name}", "openai", 1.0, 1.0, prior=prior))
    router = litellm.Router(model_list=model_list, num_retries=0, disable_cooldowns=True)
    ours = Router(tracker=tracker, registry=registry, seed=7, refresh_s=0.0)
    OutcomesRoutingStrategy(router, tracker, router=ours).install()
    assert any(isinstance(c, OutcomesLogger) for c in litellm.callbacks)
    run_calls(router, 60, between=lambda _i: tracker.flush())
    got = wait_for(tracker, 60)
    assert len(got) == 60
    assert all(r.propensity is not None and 0 < r.propensity <= 1 for r in got)
    assert all(r.routing_reason for r in got)
    picks = [r.model_id for r in got]
    first, last = picks[:15].count("openai/broken-model"), picks[-30:].count("openai/broken-model")
    assert first >= 1  # it was tried
    assert last <= 2  # and then avoided: its failures were recorded and read back
    broken = [r for r in got if r.model_id == "openai/broken-model"]
    assert all(r.success is False for r in broken)


def test_the_strategy_respects_litellm_cooldowns(tracker: OutcomeTracker) -> None:
    model_list = deployments(
        ("A", "openai/limited-model", "litellm.RateLimitError"),
        ("B", "openai/gpt-4o-mini", ANSWER),
    )
    router, strategy = routed(tracker, model_list)
    # the outcomes side must not be what avoids A: forget the tracker's own cooldown
    run_calls(router, 12, between=lambda _i: tracker.clear_exclusion())
    got = wait_for(tracker, 12)
    limited = [r for r in got if r.model_id == "openai/limited-model"]
    assert len(limited) == 1  # tried once, then cooled down by LiteLLM
    assert limited[0].error is not None
    assert "429" in limited[0].error
    assert [d["model_info"]["id"] for d in strategy._healthy_sync("group")] == ["B"]


def test_the_sync_router_path_uses_the_strategy(tracker: OutcomeTracker) -> None:
    model_list = deployments(("A", "openai/gpt-4o-mini", ANSWER), ("B", "openai/gpt-4o", ANSWER))
    router, _ = routed(tracker, model_list)
    for _ in range(4):
        router.completion(model="group", messages=MESSAGES)
    got = wait_for(tracker, 4)
    assert len(got) == 4
    assert all(r.propensity is not None for r in got)


def test_no_healthy_deployment_is_a_clear_error(tracker: OutcomeTracker) -> None:
    strategy = OutcomesRoutingStrategy(object(), tracker)
    with pytest.raises(NoHealthyDeployment, match="no healthy deployment"):
        strategy.choose([], {})


def test_no_prompt_or_answer_reaches_the_database(tracker: OutcomeTracker, db_path: Path) -> None:
    logging_to(tracker)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER)
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response=Exception(PROMPT))
    assert len(wait_for(tracker, 2)) == 2
    data = db_bytes(db_path)
    assert b"gpt-4o-mini" in data
    for secret in (b"SECRET-PROMPT", b"SECRET-ANSWER", b"capital of France"):
        assert secret not in data
