"""The Anthropic integration: the real SDK client against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import anthropic
import pytest

from outcomes.inference import OutcomeTracker
from outcomes.integrations import last_call, last_trace_id, trace_id_of
from outcomes.integrations.anthropic import instrument
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.integrations.conftest import ANSWER, PROMPT, closing, db_bytes, stored

MODEL = "claude-3-5-haiku"
MESSAGES = [{"role": "user", "content": PROMPT}]


def client_for(server: FakeLLMServer, tracker: OutcomeTracker, **kw: object) -> anthropic.Anthropic:
    client = anthropic.Anthropic(base_url=server.root_url, api_key="k", max_retries=0, **kw)  # type: ignore[arg-type]
    return instrument(closing(client), tracker)


def async_client_for(server: FakeLLMServer, tracker: OutcomeTracker) -> anthropic.AsyncAnthropic:
    client = anthropic.AsyncAnthropic(base_url=server.root_url, api_key="k", max_retries=0)
    return instrument(client, tracker)


def test_a_message_records_the_model_that_answered_usage_and_cost(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, model="claude-3-5-haiku-20241022")]
    client = client_for(server, tracker)
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    [r] = stored(tracker)
    assert (r.model_id, r.success, r.input_tokens, r.output_tokens) == (
        "claude-3-5-haiku-20241022",
        True,
        11,
        7,
    )
    assert r.cost_usd == pytest.approx((11 * 0.80 + 7 * 4.00) / 1e6)
    assert r.ttft_ms is None
    assert trace_id_of(message) == r.trace_id == last_trace_id()


def test_create_with_stream_records_usage_and_time_to_first_token(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [Reply(content=ANSWER, chunk_delay_s=0.02)]
    client = client_for(server, tracker)
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    [r] = stored(tracker)
    assert (r.input_tokens, r.output_tokens, r.success) == (11, 7, True)
    info = last_call()
    assert info is not None
    assert info.ttft_ms is not None
    assert 60 <= info.ttft_ms < info.latency_ms  # message_start, block start, first delta
    assert r.ttft_ms == pytest.approx(info.ttft_ms)  # stored on the row read back
    assert r.trace_id == trace_id_of(stream)


def test_messages_stream_records_once_through_the_helpers(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        assert "".join(stream.text_stream) == ANSWER
        final = stream.get_final_message()
    assert final.usage.output_tokens == 7
    [r] = stored(tracker)
    assert (r.input_tokens, r.output_tokens, r.success) == (11, 7, True)
    assert r.trace_id == trace_id_of(stream)


def test_messages_stream_left_early_is_abandoned(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    client = client_for(server, tracker)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        next(iter(stream.text_stream))
    del stream
    gc.collect()
    [r] = stored(tracker)
    assert r.error == "StreamAbandoned abandoned"


def test_errors_rate_limit_overloaded_and_dropped(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    server._replies = [
        Reply(status=429, headers={"retry-after": "12"}),
        Reply(status=529),
        Reply(content=ANSWER, drop_after=3),
    ]
    client = client_for(server, tracker)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="claude-sonnet-4", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    # This SDK lets the transport's error through while a stream is read.
    with (
        pytest.raises(Exception, match="incomplete chunked read"),
        client.messages.stream(model="claude-opus-4", max_tokens=10, messages=MESSAGES) as s,  # type: ignore[arg-type]
    ):
        s.until_done()
    errors = [(r.model_id, r.error) for r in stored(tracker)]
    assert errors[0] == (MODEL, "RateLimitError 429 rate_limit")
    assert errors[1][0] == "claude-sonnet-4"
    assert errors[1][1].endswith("529 server_error")
    assert errors[2] == ("claude-opus-4", "RemoteProtocolError connection")
    until = tracker.cooldown_until(MODEL)
    assert until is not None
    assert until - tracker.clock.now() == pytest.approx(12, abs=1)


def test_the_async_client_records_create_and_stream(
    server: FakeLLMServer, tracker: OutcomeTracker
) -> None:
    async def scenario() -> list[str | None]:
        client = async_client_for(server, tracker)
        message = await client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
        ids = [trace_id_of(message)]
        stream = await client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        async for _ in stream:
            pass
        ids.append(trace_id_of(stream))
        async with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as s:  # type: ignore[arg-type]
            await s.get_final_message()
        ids.append(trace_id_of(s))
        async with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as s2:  # type: ignore[arg-type]
            async for _ in s2.text_stream:
                break
        ids.append(trace_id_of(s2))
        await client.close()
        return ids

    ids = asyncio.run(scenario())
    got = stored(tracker)
    assert [r.trace_id for r in got] == ids
    assert [r.output_tokens for r in got[:3]] == [7, 7, 7]
    assert got[3].error == "StreamAbandoned abandoned"


def test_something_else_than_a_client_is_refused(tracker: OutcomeTracker) -> None:
    with pytest.raises(TypeError, match="anthropic"):
        instrument(object(), tracker)


def test_no_prompt_or_answer_reaches_the_database(
    server: FakeLLMServer, tracker: OutcomeTracker, db_path: Path
) -> None:
    client = client_for(server, tracker)
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, system=PROMPT)  # type: ignore[arg-type]
    with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        stream.until_done()
    assert len(stored(tracker)) == 2
    data = db_bytes(db_path)
    assert MODEL.encode() in data
    for secret in (b"SECRET-PROMPT", b"SECRET-ANSWER", b"capital of France"):
        assert secret not in data
