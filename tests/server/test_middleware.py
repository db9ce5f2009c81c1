"""The service middleware's time limit, driven with stand-in apps (plain ASGI, no socket):
408 before the body was read, 504 after, the app's own TimeoutError left alone, a
thread trip abandoned on the limit; the same answers on anyio's cancel scope (the path
off asyncio)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import anyio.to_thread
import msgspec
import pytest
from starlette.types import Receive, Scope, Send

from outcomes.server import _middleware
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics
from outcomes.server._middleware import READ_DONE, ServiceMiddleware

LIMIT_S = 0.2


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/v1/route", "headers": []}


async def _call(app: Any) -> tuple[int, dict[str, Any]]:
    wrapped = ServiceMiddleware(
        app, token=None, limits=ServerLimits(request_timeout_s=LIMIT_S),
        metrics=Metrics(_NoTracker()), route_of={},  # type: ignore[arg-type]
    )  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    async def send(message: Any) -> None:
        sent.append(message)

    await wrapped(_scope(), receive, send)
    status = sent[0]["status"]
    return status, msgspec.json.decode(sent[1]["body"]) if len(sent) > 1 else {}


class _NoTracker:
    writer = None

    def snapshot(self, name: str) -> Any:
        raise AssertionError("not scraped here")


async def _slow_reader(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # a client that never sends its body


async def _slow_after_body(scope: Scope, receive: Receive, send: Send) -> None:
    scope[READ_DONE] = True
    await asyncio.sleep(3600)


async def _slow_thread(scope: Scope, receive: Receive, send: Send) -> None:
    scope[READ_DONE] = True
    await anyio.to_thread.run_sync(time.sleep, 1.0, abandon_on_cancel=True)


async def _own_timeout(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("the app's own")


@pytest.mark.parametrize("on_asyncio", [True, False])
@pytest.mark.parametrize(
    ("app", "status", "code"),
    [
        (_slow_reader, 408, "request_timeout"),
        (_slow_after_body, 504, "timeout"),
        (_slow_thread, 504, "timeout"),
    ],
)
def test_a_request_past_its_limit_is_answered_in_the_envelope_in_time(
    app: Any, status: int, code: str, on_asyncio: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not on_asyncio:  # anyio's cancel scope, the path off asyncio
        monkeypatch.setattr(_middleware, "_on_asyncio", lambda: False)
    began = time.perf_counter()
    got, body = asyncio.run(_call(app))
    assert time.perf_counter() - began < LIMIT_S + 0.6  # not the 1 s or 1 h the app wanted
    assert got == status
    assert body["error"]["code"] == code


@pytest.mark.parametrize("on_asyncio", [True, False])
def test_the_apps_own_timeout_error_is_not_taken_for_the_limit(
    on_asyncio: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not on_asyncio:
        monkeypatch.setattr(_middleware, "_on_asyncio", lambda: False)
    with pytest.raises(TimeoutError, match="the app's own"):
        asyncio.run(_call(_own_timeout))


def test_a_fast_request_is_answered_as_the_app_answers() -> None:
    async def ok(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    assert asyncio.run(_call(ok)) == (200, {"ok": True})


def test_off_asyncio_means_no_running_asyncio_loop() -> None:
    assert not _middleware._on_asyncio()
    assert anyio.run(_async_on_asyncio) is True


async def _async_on_asyncio() -> bool:
    return _middleware._on_asyncio()
