"""An OpenAI-compatible HTTP server for tests: real sockets on 127.0.0.1, a free port.

Start it in a ``with`` block; point a client at :attr:`FakeLLMServer.base_url`::

    with FakeLLMServer(replies=[Reply(content='{"verdict": "accepted"}')]) as server:
        client = OpenAI(base_url=server.base_url, api_key="test")
        ...
    assert server.requests[0].json["model"] == "judge"

Design, so that other endpoints and faults slot in without touching the core:

* **routes**: ``(method, path) -> handler``; a handler takes the :class:`Recorded`
  request and the :class:`Reply` scripted for it and returns a :class:`Response` (a JSON
  body, or a list of server-sent events for streaming). :meth:`FakeLLMServer.route` adds
  one (embeddings, responses, Anthropic messages ...). Chat completions, streaming and
  not, are built in.
* **replies**: what the server does for each request, in order: a list of
  :class:`Reply` (the last one repeats), or a function of the request. A reply carries
  the model text and the fault knobs: HTTP status and headers (429 with Retry-After,
  500), a delay before the answer, a delay between streamed chunks, or dropping the
  connection without an answer.
* **requests**: every request is recorded (method, path, headers, parsed JSON) so tests
  can assert what a client sent, and what it did not.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server does for one request."""

    content: str = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Seconds before anything is sent (a slow server; client timeouts)."""
    chunk_delay_s: float = 0.0
    """Seconds between streamed chunks (the first one included: a slow first token)."""
    drop: bool = False
    """Close the connection without answering."""
    prompt_tokens: int = 11
    completion_tokens: int = 7
    error: str = "fake error"
    """The message of the error body sent with a status >= 400."""


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Response:
    """A handler's answer: a JSON body, or server-sent events when ``events`` is set."""

    body: Any = None
    events: Sequence[Any] | None = None


Handler = Callable[[Recorded, Reply], Response]
Replies = Sequence[Reply] | Callable[[Recorded], Reply]


def chat_completions(request: Recorded, reply: Reply) -> Response:
    """``POST /v1/chat/completions``, streaming (``"stream": true``) or not."""
    body = request.json or {}
    model = body.get("model", "fake-model")
    ident = f"chatcmpl-fake-{int(time.time() * 1000)}"
    usage = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    if body.get("stream"):
        base = {"id": ident, "object": "chat.completion.chunk", "created": 0, "model": model}
        words = reply.content.split(" ")
        events: list[Any] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
        ]
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        return Response(events=events)
    return Response(
        body={
            "id": ident,
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
    )


class FakeLLMServer:
    """The server; see the module docstring."""

    def __init__(self, replies: Replies = (Reply(),)) -> None:
        self.requests: list[Recorded] = []
        self._replies = replies
        self._routes: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.route("POST", "/v1/chat/completions", chat_completions)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``method path`` with ``handler`` (replaces an existing route)."""
        self._routes[method.upper(), path] = handler

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``http://127.0.0.1:PORT/v1``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeLLMServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._serve(self)

            def do_POST(self) -> None:
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        # A short poll keeps stop() quick (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, request: Recorded) -> Reply:
        if callable(self._replies):
            return self._replies(request)
        with self._lock:
            index = min(len(self.requests) - 1, len(self._replies) - 1)
        return self._replies[index]

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        request = Recorded(
            http.command,
            http.path.split("?")[0],
            {k.lower(): v for k, v in http.headers.items()},
            http.rfile.read(length) if length else b"",
        )
        with self._lock:
            self.requests.append(request)
        reply = self._next_reply(request)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.drop:
            http.close_connection = True
            http.connection.close()
            return
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            _send_json(http, 404, {"error": {"message": "no such route"}}, {})
        elif reply.status >= 400:
            _send_json(http, reply.status, {"error": {"message": reply.error}}, reply.headers)
        else:
            response = handler(request, reply)
            if response.events is None:
                _send_json(http, reply.status, response.body, reply.headers)
            else:
                _send_events(http, response.events, reply)


def _send_json(
    http: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]
) -> None:
    data = json.dumps(body).encode()
    http.send_response(status)
    http.send_header("Content-Type", "application/json")
    http.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        http.send_header(name, value)
    http.end_headers()
    http.wfile.write(data)


def _send_events(http: BaseHTTPRequestHandler, events: Sequence[Any], reply: Reply) -> None:
    http.send_response(reply.status)
    http.send_header("Content-Type", "text/event-stream")
    http.send_header("Cache-Control", "no-cache")
    http.send_header("Connection", "close")
    for name, value in reply.headers.items():
        http.send_header(name, value)
    http.end_headers()
    http.close_connection = True
    for event in [*events, "[DONE]"]:
        if reply.chunk_delay_s:
            time.sleep(reply.chunk_delay_s)
        data = event if isinstance(event, str) else json.dumps(event)
        http.wfile.write(f"data: {data}\n\n".encode())
        http.wfile.flush()
