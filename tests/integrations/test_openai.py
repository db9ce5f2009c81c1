"""The OpenAI integration: the real SDK client against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import math
from pathlib import Path

import msgspec
import openai
import pytest

from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker
from outcomes.integrations import last_call, last_trace_id, trace_id_of
from outcomes.integrations.openai import instrument
from outcomes.store import BackgroundWriter, SQLiteStore
from outcomes.testing import FakeClock, MemoryStore
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.integrations.conftest import ANSWER, PROMPT, closing, db_bytes, stored

MESSAGES = [{"role": "user", "content": PROMPT}]


def client_for(server: FakeLLMServer, tracker: OutcomeTracker, **kw: object) -> openai.OpenAI:
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, **kw)  # type: ignore[arg-type]
    return instrument(closing(client), tracker)


def async_client_for(server: FakeLLMServer, tracker: OutcomeTracker) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    return instrument(client, tracker)


def test_a_chat_call_records_the_model_that_answered_its_usage_cost_and_latency(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, model="gpt-4o-mini-2024-07-18")]
    client = client_for(server, tracker)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == ANSWER
    [r] = stored(tracker)
    assert (r.model_id, r.task, r.success) == ("gpt-4o-mini-2024-07-18", "generate", True)
    assert (r.input_tokens, r.output_tokens) == (11, 7)
    assert r.cost_usd == pytest.approx((11 * 0.15 + 7 * 0.60) / 1e6)  # priced as gpt-4o-mini
    assert r.latency_ms > 0
    assert r.ttft_ms is None  # not streamed: no first token to time
    assert reply.outcomes_trace_id == r.trace_id == last_trace_id() == trace_id_of(reply)  # type: ignore[attr-defined]
    assert "outcomes_trace_id" not in reply.model_dump()


def test_an_outside_trace_id_is_adopted_and_never_sent(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        outcomes_trace_id="req-2024-abc",  # type: ignore[call-arg]
        outcomes_task="qa",  # type: ignore[call-arg]
    )
    [r] = stored(tracker)
    assert (r.trace_id, r.task) == ("req-2024-abc", "qa")
    assert trace_id_of(reply) == "req-2024-abc"
    sent = server.requests[0].json
    assert "outcomes_trace_id" not in sent
    assert "outcomes_task" not in sent


def test_an_invalid_outside_trace_id_is_replaced_not_fatal(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        outcomes_trace_id="bad id with spaces",  # type: ignore[call-arg]
    )
    [r] = stored(tracker)
    assert r.trace_id == trace_id_of(reply) != "bad id with spaces"


def test_a_stream_with_usage_records_tokens_ttft_and_total_latency_once(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, chunk_delay_s=0.03)]
    client = client_for(server, tracker)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    assert isinstance(stream, openai.Stream)
    assert stored(tracker) == []  # nothing before the stream settles
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == ANSWER
    [r] = stored(tracker)
    assert (r.input_tokens, r.output_tokens, r.success) == (11, 7, True)
    assert r.trace_id == stream.outcomes_trace_id  # type: ignore[attr-defined]
    info = last_call()
    assert info is not None
    assert info.streamed
    assert not info.usage_estimated
    assert info.ttft_ms is not None
    # first chunk (role) and first content chunk: two chunk delays; then 8 more chunks
    assert 55 <= info.ttft_ms < info.latency_ms
    assert r.latency_ms == pytest.approx(info.latency_ms)
    assert r.latency_ms >= 30 * 10
    assert r.ttft_ms == pytest.approx(info.ttft_ms)  # stored on the row read back
    stream.close()
    del stream
    gc.collect()
    assert len(stored(tracker)) == 1


def test_a_stream_without_usage_records_a_flagged_estimate(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    with client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    ) as stream:
        for _ in stream:
            pass
    [r] = stored(tracker)
    assert r.output_tokens == math.ceil(len(ANSWER) / 4)
    assert r.input_tokens == math.ceil(len(PROMPT) / 4)
    info = last_call()
    assert info is not None
    assert info.usage_estimated


@pytest.mark.parametrize("how", ["close", "with", "drop the reference"])
def test_a_stream_abandoned_half_way_is_recorded_once_as_abandoned(
    server: FakeLLMServer, tracker: OutcomeTracker, how: str
) -> None:
    server._replies = [Reply(content=ANSWER)]
    client = client_for(server, tracker)

    def read_two(stream: openai.Stream) -> None:  # type: ignore[type-arg]
        for i, _ in enumerate(stream):
            if i == 2:
                break

    kw = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    if how == "with":
        with client.chat.completions.create(**kw) as stream:  # type: ignore[call-overload]
            read_two(stream)
    else:
        stream = client.chat.completions.create(**kw)  # type: ignore[call-overload]
        read_two(stream)
        if how == "close":
            stream.close()
            stream.close()  # twice: still one record
    del stream
    gc.collect()
    [r] = stored(tracker)
    assert r.success is False
    assert r.error == "StreamAbandoned abandoned"
    info = last_call()
    assert info is not None
    assert info.abandoned


def test_a_connection_dropped_mid_stream_is_a_connection_failure(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, drop_after=3)]
    client = client_for(server, tracker)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIConnectionError):
        for _ in stream:
            pass
    stream.close()
    [r] = stored(tracker)
    assert r.success is False
    assert r.error == "APIConnectionError connection"


def test_a_429_with_retry_after_starts_a_cooldown_of_that_length(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(status=429, headers={"Retry-After": "7"}, error=PROMPT)]
    client = client_for(server, tracker)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    [r] = stored(tracker)
    assert r.error == "RateLimitError 429 rate_limit"
    until = tracker.cooldown_until("gpt-4o-mini")
    assert until is not None
    assert until - tracker.clock.now() == pytest.approx(7, abs=1)
    assert tracker.is_excluded("gpt-4o-mini")


def test_a_server_error_and_a_timeout_are_told_apart(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(status=500), Reply(delay_s=0.5)]
    client = client_for(server, tracker, timeout=0.2)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    errors = [r.error for r in stored(tracker)]
    assert errors == ["InternalServerError 500 server_error", "APITimeoutError timeout"]
    assert tracker.cooldown_until("gpt-4o-mini") is None


def test_a_refused_connection_is_recorded(tracker: OutcomeTracker) -> None:
    with FakeLLMServer() as gone:
        url = gone.base_url
    client = instrument(closing(openai.OpenAI(base_url=url, api_key="k", max_retries=0)), tracker)
    with pytest.raises(openai.APIConnectionError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    [r] = stored(tracker)
    assert (r.task, r.error) == ("embed", "APIConnectionError connection")


def test_responses_and_embeddings_are_recorded(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    resp = client.responses.create(model="gpt-4o", input=PROMPT)
    assert resp.output_text == ANSWER
    stream = client.responses.create(model="gpt-4o", input=PROMPT, stream=True)
    kinds = [event.type for event in stream]
    assert kinds[-1] == "response.completed"
    emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(emb.data) == 2
    first, second, third = stored(tracker)
    assert (first.model_id, first.input_tokens, first.output_tokens) == ("gpt-4o", 11, 7)
    assert (second.input_tokens, second.output_tokens, second.success) == (11, 7, True)
    assert second.trace_id == trace_id_of(stream)
    assert (third.task, third.input_tokens, third.output_tokens) == ("embed", 11, 0)
    assert third.trace_id == trace_id_of(emb)


def test_instrumenting_twice_records_each_call_once(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = instrument(client_for(server, tracker), tracker)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert len(stored(tracker)) == 1


def test_something_else_than_a_client_is_refused(tracker: OutcomeTracker) -> None:
    with pytest.raises(TypeError, match=r"openai\.OpenAI"):
        instrument(object(), tracker)
    with pytest.raises(TypeError, match="OutcomeTracker"):
        instrument(openai.OpenAI(api_key="k"), "not a tracker")  # type: ignore[arg-type]


def test_the_async_client_records_answers_streams_and_abandoned_streams(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    async def scenario() -> list[str | None]:
        client = async_client_for(server, tracker)
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        ids = [trace_id_of(reply)]
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        assert isinstance(stream, openai.AsyncStream)
        async for _ in stream:
            pass
        ids.append(trace_id_of(stream))
        half = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        async for _ in half:
            break
        await half.close()
        ids.append(trace_id_of(half))
        await client.close()
        return ids

    ids = asyncio.run(scenario())
    got = stored(tracker)
    assert [r.trace_id for r in got] == ids
    assert [(r.success, r.output_tokens) for r in got[:2]] == [(True, 7), (True, 7)]
    assert got[2].error == "StreamAbandoned abandoned"


def test_a_cancelled_async_stream_is_abandoned(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, chunk_delay_s=0.2)]

    async def scenario() -> None:
        client = async_client_for(server, tracker)

        async def read() -> None:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            async for _ in stream:
                pass

        task = asyncio.create_task(read())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()

    asyncio.run(scenario())
    [r] = stored(tracker)
    assert r.error == "StreamAbandoned abandoned"


def test_no_prompt_or_answer_reaches_the_database(
    server: FakeLLMServer, tracker: OutcomeTracker, db_path: Path
) -> None:
    server._replies = [
        Reply(content=ANSWER),
        Reply(content=ANSWER),
        Reply(status=400, error=PROMPT),
    ]
    client = client_for(server, tracker)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):  # type: ignore[arg-type]
        pass
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert len(stored(tracker)) == 3
    data = db_bytes(db_path)
    assert b"gpt-4o-mini" in data  # the file does hold what was recorded
    for secret in (b"SECRET-PROMPT", b"SECRET-ANSWER", b"capital of France"):
        assert secret not in data


def test_feedback_attaches_to_the_trace_id_on_the_reply(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    for _ in stream:
        pass
    assert tracker.feedback(trace_id_of(reply) or "", thumbs=False, user_id="u-42")
    assert tracker.feedback(trace_id_of(stream) or "", score=4, score_range=(1, 5))
    latest = {r.trace_id: r for r in stored(tracker)}  # the superseding receipts win
    assert latest[trace_id_of(reply)].success is False
    assert latest[trace_id_of(stream)].quality == pytest.approx(0.75)


def test_a_failed_response_is_a_failure_streamed_or_not(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    from tests.fakes.llm_server import Recorded, Response, responses

    def failing(request: Recorded, reply: Reply) -> Response:
        answer = responses(request, reply)
        if answer.events is None:
            return Response(body={**answer.body, "status": "failed"})
        *head, (_, last) = answer.events
        failed = {**last, "type": "response.failed"}
        failed["response"] = {**last["response"], "status": "failed"}
        return Response(events=[*head, ("response.failed", failed)], done=False)

    server.route("POST", "/v1/responses", failing)
    client = client_for(server, tracker)
    client.responses.create(model="gpt-4o", input=PROMPT)
    for _ in client.responses.create(model="gpt-4o", input=PROMPT, stream=True):
        pass
    assert [(r.success, r.error) for r in stored(tracker)] == [
        (False, "ResponseFailed failed"),
        (False, "ResponseFailed failed"),
    ]


def test_the_call_returns_before_its_receipt_is_built(server: FakeLLMServer, db_path: Path) -> None:
    writer = BackgroundWriter(
        SQLiteStore(db_path), WriterSettings(flush_interval=3600, batch_size=10**6)
    )
    tracker = OutcomeTracker(writer.store, writer=writer)
    client = client_for(server, tracker)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert writer.stats().submitted == 0  # nothing built nor queued on the caller's thread
    info = last_call()
    assert info is not None
    assert (info.trace_id, info.input_tokens, info.output_tokens) == (
        reply.outcomes_trace_id,  # type: ignore[attr-defined]
        11,
        7,
    )
    assert tracker.pending_completed(info.trace_id) is True  # a read sees it at once
    [r] = stored(tracker)
    assert (r.trace_id, r.latency_ms) == (info.trace_id, info.latency_ms)
    tracker.close()
    writer.close()


def test_a_deferred_call_writes_the_receipt_an_at_once_call_writes(server: FakeLLMServer) -> None:
    server._replies = [Reply(content=ANSWER, model="gpt-4o-mini-2024-07-18")]
    written = []
    for outside_id in (None, "req-2024-abc"):  # an outside id is recorded on the caller's thread
        tracker = OutcomeTracker(MemoryStore(), clock=FakeClock())
        client = client_for(server, tracker)
        extra = {} if outside_id is None else {"outcomes_trace_id": outside_id}
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **extra)  # type: ignore[call-overload]
        [r] = stored(tracker)
        info = last_call()
        assert info is not None
        assert r.latency_ms == info.latency_ms
        written.append(msgspec.structs.replace(r, receipt_id="", trace_id="", latency_ms=0.0))
        tracker.close()
    assert written[0] == written[1]
    assert written[0].cost_usd is not None
    assert written[0].timestamp == FakeClock().now()
