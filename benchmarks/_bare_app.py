"""The reference of ``bench_server``: a bare Starlette app on the same uvicorn, answering
a fixed JSON body (no middleware, no validation, no store)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = b'{"model_id":"gpt-4o","propensity":0.5,"trace_id":"t","candidates":[]}'


async def fixed(request: Request) -> Response:
    await request.body()
    return Response(_BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", fixed, methods=["GET", "POST"])])
