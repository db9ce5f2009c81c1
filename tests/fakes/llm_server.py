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
  or replaces one. Built in, streaming and not: OpenAI chat completions, responses and
  embeddings under :attr:`FakeLLMServer.base_url`, Anthropic messages (named SSE events)
  under :attr:`FakeLLMServer.root_url`.
* **replies**: what the server does for each request, in order: a list of
  :class:`Reply` (the last one repeats), or a function of the request. A reply carries
  the model text and the fault knobs: HTTP status and headers (429 with Retry-After,
  500), a delay before the answer, a delay between streamed chunks (a slow first token),
  dropping the connection without an answer, or cutting a stream after N events (sent
  chunked, so the client sees an incomplete body, not a normal end).
* **requests**: every request is recorded (method, path, headers, parsed JSON) so tests
  can assert what a client sent, and what it did not.
"""

from __future__ import annotations

import contextlib
import json
import socket
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
    drop_after: int | None = None
    """Stream this many events, then close the connection (a stream cut mid-way)."""
    model: str | None = None
    """The model the answer names (default: the model asked for), e.g. a dated version."""


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
    """A handler's answer: a JSON body, or server-sent events when ``events`` is set.

    An event is a JSON-able value (sent as ``data:``) or a ``(name, value)`` pair (sent as
    ``event: name`` then ``data:``, as Anthropic does). ``done`` ends the stream with
    ``data: [DONE]`` (OpenAI chat does; Anthropic and the Responses API do not).
    """

    body: Any = None
    events: Sequence[Any] | None = None
    done: bool = True


Handler = Callable[[Recorded, Reply], Response]
Replies = Sequence[Reply] | Callable[[Recorded], Reply]


def chat_completions(request: Recorded, reply: Reply) -> Response:
    """``POST /v1/chat/completions``, streaming (``"stream": true``) or not."""
    body = request.json or {}
    model = reply.model or body.get("model", "fake-model")
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


def _words(text: str) -> list[str]:
    return [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]


def responses(request: Recorded, reply: Reply) -> Response:
    """``POST /v1/responses`` (the OpenAI Responses API), streaming or not."""
    body = request.json or {}
    model = reply.model or body.get("model", "fake-model")
    usage = {
        "input_tokens": reply.prompt_tokens,
        "output_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": reply.content, "annotations": []}],
    }
    full = {
        "id": "resp_fake",
        "object": "response",
        "created_at": 0,
        "model": model,
        "status": "completed",
        "output": [message],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }
    if not body.get("stream"):
        return Response(body=full)
    started = {**full, "status": "in_progress", "output": [], "usage": None}
    events: list[Any] = [
        (
            "response.created",
            {"type": "response.created", "response": started, "sequence_number": 0},
        )
    ]
    for i, piece in enumerate(_words(reply.content)):
        events.append(
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "item_id": "msg_fake",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                    "logprobs": [],
                    "sequence_number": i + 1,
                },
            )
        )
    done = {"type": "response.completed", "response": full, "sequence_number": len(events)}
    events.append(("response.completed", done))
    return Response(events=events, done=False)


def embeddings(request: Recorded, reply: Reply) -> Response:
    """``POST /v1/embeddings``: one 4-dimensional vector per input."""
    body = request.json or {}
    inputs = body.get("input", "")
    count = len(inputs) if isinstance(inputs, list) else 1
    return Response(
        body={
            "object": "list",
            "model": reply.model or body.get("model", "fake-embed"),
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3, 0.4]}
                for i in range(count)
            ],
            "usage": {"prompt_tokens": reply.prompt_tokens, "total_tokens": reply.prompt_tokens},
        }
    )


def anthropic_messages(request: Recorded, reply: Reply) -> Response:
    """``POST /v1/messages`` (Anthropic), streaming (named SSE events) or not."""
    body = request.json or {}
    model = reply.model or body.get("model", "fake-claude")
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply.content}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens},
    }
    if not body.get("stream"):
        return Response(body=message)
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": reply.prompt_tokens, "output_tokens": 1}
    events: list[Any] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for piece in _words(reply.content):
        delta = {"type": "text_delta", "text": piece}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": reply.completion_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return Response(events=events, done=False)


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
        self.route("POST", "/v1/responses", responses)
        self.route("POST", "/v1/embeddings", embeddings)
        self.route("POST", "/v1/messages", anthropic_messages)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``method path`` with ``handler`` (replaces an existing route)."""
        self._routes[method.upper(), path] = handler

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``http://127.0.0.1:PORT/v1``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def root_url(self) -> str:
        """The server's root (``http://127.0.0.1:PORT``): Anthropic's SDK adds ``/v1``."""
        return self.base_url[: -len("/v1")]

    def start(self) -> FakeLLMServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm the body
            # would wait for the client's delayed ACK (~40 ms per call on Linux).
            disable_nagle_algorithm = True

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
                _send_events(http, response, reply)


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
    with contextlib.suppress(OSError):  # the client gave up waiting (a timeout test)
        http.wfile.write(data)


def _send_events(http: BaseHTTPRequestHandler, response: Response, reply: Reply) -> None:
    # Chunked, so that a connection cut mid-stream is an error for the client (an
    # incomplete chunked body), not an ordinary end of the body.
    http.send_response(reply.status)
    http.send_header("Content-Type", "text/event-stream")
    http.send_header("Cache-Control", "no-cache")
    http.send_header("Transfer-Encoding", "chunked")
    http.send_header("Connection", "close")
    for name, value in reply.headers.items():
        http.send_header(name, value)
    http.end_headers()
    http.close_connection = True
    events = [*(response.events or ()), *(["[DONE]"] if response.done else [])]
    try:
        for sent, event in enumerate(events):
            if reply.drop_after is not None and sent >= reply.drop_after:
                http.wfile.flush()
                http.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            name, value = event if isinstance(event, tuple) else (None, event)
            data = value if isinstance(value, str) else json.dumps(value)
            head = f"event: {name}\n" if name else ""
            _write_chunk(http, f"{head}data: {data}\n\n".encode())
        http.wfile.write(b"0\r\n\r\n")
        http.wfile.flush()
    except OSError:
        pass  # the client went away (an abandoned stream): nothing left to send


def _write_chunk(http: BaseHTTPRequestHandler, data: bytes) -> None:
    http.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    http.wfile.flush()
