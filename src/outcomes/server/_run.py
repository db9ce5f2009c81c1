"""Running the service: the bind rule, the token file, uvicorn with one or more workers.

``outcomes serve`` passes its settings to each uvicorn worker through the environment
(``OUTCOMES_DB_URL``, ``OUTCOMES_SERVER_TOKEN_FILE``: the path, never the token itself),
and every worker builds its app with :func:`app_from_env`, opening its own store and
writer; several processes on one PostgreSQL (or one SQLite file) share what they store.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import logging
import os
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette

from outcomes import config
from outcomes.errors import ConfigError
from outcomes.server._app import create_app
from outcomes.server._limits import ServerLimits
from outcomes.store import open_store

log = logging.getLogger("outcomes.server")

MAX_TOKEN_BYTES = 4096
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """``127.0.0.0/8``, ``::1`` or ``localhost``: reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def read_token(path: str | os.PathLike[str]) -> str:
    """The token in ``path`` (surrounding whitespace removed).

    Raises :class:`ConfigError` for an unreadable, empty, huge or short token file; a
    file others may read is used with a warning.
    """
    file = Path(path)
    try:
        info = file.stat()
        if info.st_size > MAX_TOKEN_BYTES:
            raise ConfigError(f"token file {file} is larger than {MAX_TOKEN_BYTES} bytes")
        token = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read token file {file}: {exc}") from None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ConfigError(
            f"token file {file} must hold one token of at least {MIN_TOKEN_CHARS} characters "
            "without spaces (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    if info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("token file %s is readable by other users (chmod 600 it)", file)
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to bind {host} without a token: pass --token-file (or bind 127.0.0.1)"
        )


def app_from_env() -> Starlette:
    """The app of one worker, from ``OUTCOMES_DB_URL`` and ``OUTCOMES_SERVER_TOKEN_FILE``."""
    token_file = os.environ.get(config.ENV_SERVER_TOKEN_FILE)
    token = read_token(token_file) if token_file else None
    app = create_app(open_store(None), token=token, limits=ServerLimits.from_env())
    _freeze_after_start_up(app)
    return app


WARM_UP_WAIT_S = 120.0
"""Longest the collector freeze waits for the dashboard's start-up reports."""


def _freeze_after_start_up(app: Starlette) -> None:
    """Once the worker has started (its lifespan, and the dashboard's warm-up, which
    imports the statistics libraries), move every object then alive into the garbage
    collector's permanent generation (``gc.freeze``): a full collection then walks only
    what the service made since, not the ~90k objects of start-up. While ingesting, a
    full collection came about once per 40k events and took about 0.1 s of CPU under
    load, 6-7% of the server's CPU for those events (docs/server.md). Only for
    ``outcomes serve``'s own processes: an app embedded elsewhere leaves its host's
    collector alone."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Starlette) -> AsyncIterator[None]:
        async with inner(started):
            threading.Thread(target=_freeze, name="outcomes-gc-freeze", daemon=True).start()
            yield

    app.router.lifespan_context = lifespan


def _freeze() -> None:
    from outcomes.server.dashboard._data import THREAD_PREFIX

    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_PREFIX):
            thread.join(WARM_UP_WAIT_S)
    gc.collect()  # start-up's garbage goes first: what is frozen is never collected
    gc.freeze()


def _lean_log_records() -> None:
    """Log records without the caller's frame, thread and process (the logging HOWTO's
    "Optimization" switches): the service's format is the message alone (its access
    log line names what a reader needs), and finding the caller is the largest part of
    each access-log record. Only for ``outcomes serve``'s own processes, as the
    collector freeze: an app embedded elsewhere leaves its host's logging alone."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def serve(
    *,
    db: str | None,
    host: str,
    port: int,
    workers: int = 1,
    token_file: str | None = None,
    log_level: str = "info",
    check: bool = False,
) -> None:
    """Run the service until SIGINT/SIGTERM; then finish requests in flight and commit
    what was accepted (uvicorn's graceful shutdown, then the app's lifespan).

    ``check=True`` validates the settings, reads the token and opens (and migrates) the
    store, then returns without serving. Raises :class:`ConfigError` for bad settings and
    the store's errors when it cannot be opened.
    """
    import uvicorn

    token_file = token_file or os.environ.get(config.ENV_SERVER_TOKEN_FILE) or None
    token = read_token(token_file) if token_file else None
    check_bind(host, token)
    if workers < 1:
        raise ConfigError("--workers must be >= 1")
    open_store(db).close()  # fail now, in the parent, if the store cannot be opened
    if check:
        return
    # The workers read these (uvicorn starts them afresh): the URL, and the token's path.
    if db is not None:
        os.environ[config.ENV_DB_URL] = db
    if token_file is not None:
        os.environ[config.ENV_SERVER_TOKEN_FILE] = str(Path(token_file).resolve())
    logging.basicConfig(level=log_level.upper(), format="%(message)s")
    _lean_log_records()
    uvicorn.run(
        "outcomes.server._run:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # our own access log: structured, without query strings
        log_level=log_level,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
