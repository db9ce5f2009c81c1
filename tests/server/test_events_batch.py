"""The one-pass decode of a batch of events (``decode_batch``, a JSON array or NDJSON)
answers and records exactly what decoding each item alone does, and steps aside whenever
an item needs its own report; concurrent writes share their commit."""

from __future__ import annotations

import asyncio
import threading
import time

import msgspec
import pytest
from starlette.testclient import TestClient

from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker
from outcomes.records import Receipt
from outcomes.server._events import WriteReport, apply_items, decode_batch, split_items
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics
from outcomes.server._service import GROUP_WAIT_S, Service
from outcomes.store import BackgroundWriter
from tests.fakes.stores import BatchStore

AT = 1_780_000_000.0


def event(i: int, **extra: object) -> dict[str, object]:
    return {"event": "complete", "trace_id": f"t{i}", "model_id": f"m-{i % 3}", "task": "code",
            "latency_ms": 100 + i, "input_tokens": 10, "output_tokens": 5,
            "timestamp": AT + i, **extra}  # fmt: skip


NDJSON = "application/x-ndjson"


def encode(batch: list[object], media: str) -> bytes:
    """``batch`` as a JSON array, or as NDJSON with a blank line after the first item
    (blank lines are skipped but keep their numbers)."""
    if media != NDJSON:
        return msgspec.json.encode(batch)
    lines = [msgspec.json.encode(item) for item in batch]
    return b"\n".join([*lines[:1], b"  ", *lines[1:]]) + b"\n"


def run(
    body: bytes, one_pass: bool, media: str = "application/json"
) -> tuple[WriteReport, OutcomeTracker, list[bytes] | None]:
    tracker = OutcomeTracker(strict=True)
    items = split_items(body, media, ServerLimits())
    decoded = decode_batch(body, media, items) if one_pass else None
    report = apply_items(tracker, threading.Lock(), items, decoded=decoded)
    return report, tracker, None if decoded is None else items


BATCHES = {
    "all good": [event(i) for i in range(20)],
    "a repeat and a signal": [event(1), event(1), event(2),
                              {"event": "signal", "trace_id": "t2", "signal_id": "s1",
                               "kind": "tests", "verdict": "pass", "timestamp": AT + 9}],
    "full-width model id (normalized)": [event(1, model_id="ｇｐｔ-4o"), event(2)],
    "bidi override refused by the field checks": [event(1, model_id="gpt\u202e4o"), event(2)],
    "an unknown field": [event(1, colour="blue"), event(2)],
    "a wrong type": [event(1, latency_ms="fast"), event(2)],
    "a secret as trace id": [event(1, trace_id="sk-" + "a" * 40), event(2)],
    "unknown trace without a model": [{"event": "failure", "trace_id": "x", "error": "boom"},
                                      event(3)],
}  # fmt: skip


@pytest.mark.parametrize("media", ["application/json", NDJSON])
@pytest.mark.parametrize("name", list(BATCHES))
def test_one_pass_reports_and_records_what_each_item_alone_does(name: str, media: str) -> None:
    body = encode(BATCHES[name], media)
    fast, fast_tracker, _ = run(body, one_pass=True, media=media)
    slow, slow_tracker, _ = run(body, one_pass=False, media=media)
    assert fast.to_json() == slow.to_json()
    assert fast.received == len(BATCHES[name])
    traces = {str(item.get("trace_id")) for item in BATCHES[name]}
    for trace in traces:
        assert fast_tracker.get_pending(trace) == slow_tracker.get_pending(trace)
    assert sorted(fast_tracker.pending_trace_ids()) == sorted(slow_tracker.pending_trace_ids())


ORDERED = [event(1), event(2),
           {"event": "failure", "trace_id": "t1", "error": "boom", "timestamp": AT + 5},
           event(3), event(2), {"event": "start", "trace_id": "t4", "model_id": "m-1",
                                "task": "code", "timestamp": AT + 6},
           event(4), event(5), event(6, trace_id="t1")]  # fmt: skip
"""New calls, a failure superseding one of them, repeats, a start then its completion."""


def _written(one_pass: bool) -> list[tuple[object, ...]]:
    store = BatchStore()
    writer = BackgroundWriter(store, WriterSettings(batch_size=1000, flush_interval=60))
    tracker = OutcomeTracker(store, writer=writer, strict=True, local_profiles=False)
    body = encode(ORDERED, "application/json")
    items = split_items(body, "application/json", ServerLimits())
    decoded = decode_batch(body, "application/json", items) if one_pass else None
    report = apply_items(tracker, threading.Lock(), items, decoded=decoded)
    assert (report.accepted, report.ignored) == (7, 2)
    queued = list(writer._queue)  # what the writer was handed, in order
    tracker.close()
    writer.close()
    # A superseding receipt's id is new (random); what it supersedes is not.
    return [(r.trace_id, r.source, r.success, r.timestamp, r.latency_ms, r.supersedes)
            for r in queued]  # fmt: skip


def test_one_pass_hands_the_writer_the_same_receipts_in_the_same_order() -> None:
    fast = _written(one_pass=True)
    assert fast == _written(one_pass=False)
    assert [(t, source) for t, source, *_ in fast] == [
        ("t1", "complete"), ("t2", "complete"), ("t1", "failure"), ("t3", "complete"),
        ("t4", "complete"), ("t5", "complete"),
    ]  # fmt: skip


@pytest.mark.parametrize("media", ["application/json", NDJSON])
def test_one_pass_is_taken_only_when_every_item_decodes(media: str) -> None:
    good = encode([event(1), event(2)], media)
    items = split_items(good, media, ServerLimits())
    assert decode_batch(good, media, items) is not None
    for bad in ([event(1, colour="blue")], [event(1, latency_ms=-1)], [event(1), 7]):
        body = encode(bad, media)
        items = split_items(body, media, ServerLimits())
        assert decode_batch(body, media, items) is None


def test_an_ndjson_line_blank_to_bytes_but_not_to_json_steps_aside() -> None:
    body = msgspec.json.encode(event(1)) + b"\n\x0c\n" + msgspec.json.encode(event(2))
    items = split_items(body, NDJSON, ServerLimits())
    assert decode_batch(body, NDJSON, items) is None
    report, _, _ = run(body, one_pass=False, media=NDJSON)
    assert (report.received, report.accepted) == (2, 2)


@pytest.mark.parametrize("media", ["application/json", NDJSON])
def test_a_rejected_item_in_one_pass_is_reported_by_index(media: str) -> None:
    body = encode([event(1), event(2, model_id="gpt\u202e4o"), event(3)], media)
    report, _, used = run(body, one_pass=True, media=media)
    assert used is not None  # the whole batch decoded; the field check refused item 1
    assert (report.accepted, report.rejected_count) == (2, 1)
    # NDJSON: a blank line follows the first event, so the refused one is on line 3.
    assert report.rejected[0]["index"] == (2 if media == NDJSON else 1)
    assert report.rejected[0]["where"] == "model_id"


def test_a_commit_waits_for_batches_being_applied_and_shares_their_transaction() -> None:
    store = BatchStore()
    writer = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=60))
    tracker = OutcomeTracker(store, writer=writer, strict=True)
    service = Service(tracker=tracker, limits=ServerLimits(), metrics=Metrics(tracker))
    receipt = lambda i: Receipt(f"t{i}", f"t{i}", "m", "code", AT + i, success=True)  # noqa: E731
    end_a = service.begin_apply()  # request A
    writer.submit(receipt(1))
    end_a()
    end_b = service.begin_apply()  # request B, arrived and not yet applied when A commits
    answered = threading.Event()
    flushed: list[bool] = []

    def commit_a() -> None:
        flushed.append(bool(service._flush()))
        answered.set()

    threading.Thread(target=commit_a).start()
    assert not answered.wait(0.1)  # A waits for B's batch to join its commit
    writer.submit(receipt(2))
    end_b()
    end_b()  # a second call (another path of the same request) counts nothing
    assert answered.wait(10)
    assert flushed == [True]
    assert store.batches == [["t1", "t2"]]
    tracker.close()
    writer.close()


def test_a_commit_does_not_wait_for_a_batch_that_never_finishes() -> None:
    store = BatchStore()
    writer = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=60))
    tracker = OutcomeTracker(store, writer=writer, strict=True)
    service = Service(tracker=tracker, limits=ServerLimits(), metrics=Metrics(tracker))
    writer.submit(Receipt("t1", "t1", "m", "code", AT, success=True))
    service.begin_apply()  # stuck: A still commits after the group wait
    t = time.perf_counter()
    assert service._flush()
    assert GROUP_WAIT_S <= time.perf_counter() - t < GROUP_WAIT_S + 5
    assert store.batches == [["t1"]]
    tracker.close()
    writer.close()


def test_every_events_request_leaves_the_group_count_balanced_whatever_its_answer(
    client: TestClient,
) -> None:
    """A request is counted for the group commit once its body is in: one that fails before
    its batch applies (413, 422, invalid UTF-8) or succeeds must leave the count even,
    else every later commit would wait the full group wait for a batch that never
    comes."""
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    json = {"content-type": "application/json"}
    too_many = msgspec.json.encode([event(i) for i in range(ServerLimits().max_items + 1)])
    answers = [
        client.post("/v1/events", content=msgspec.json.encode([event(1)]), headers=json),
        client.post("/v1/events", content=b"{not json", headers=json),
        client.post("/v1/events", content=b'[{"event": "complete"}]', headers=json),
        client.post("/v1/events", content=b"[\xff]", headers=json),
        client.post("/v1/events", content=too_many, headers=json),
    ]
    assert [a.status_code for a in answers] == [200, 422, 200, 422, 413]
    assert answers[2].json()["rejected"] == 1
    assert service.applies_started == service.applies_finished == len(answers)


def test_a_request_whose_body_is_still_arriving_is_not_counted_for_the_group_commit(
    client: TestClient,
) -> None:
    """A slow client is counted for the group commit only once its whole body is in, so
    no other request's commit waits the group wait for a body still on its way."""
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    body = msgspec.json.encode([event(1)])
    counted_while_arriving: list[int] = []
    sent: list[dict[str, object]] = []

    async def scenario() -> None:
        chunks = [body[:5], body[5:]]

        async def receive() -> dict[str, object]:
            if len(chunks) == 1:  # the app has the first part and waits for the rest
                await asyncio.sleep(0.05)
                counted_while_arriving.append(service.applies_started - service.applies_finished)
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/v1/events", "raw_path": b"/v1/events",
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }  # fmt: skip
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    asyncio.run(scenario())
    assert counted_while_arriving == [0]
    assert sent[0]["status"] == 200
    assert service.applies_started == service.applies_finished == 1
