"""A simple query through libpq loaded with :mod:`ctypes`: ``_pg_read``'s way when its
own protocol code (``_pg_wire``) is not sure to connect as libpq would.

psycopg is itself a wrapper of libpq, the server's own C client library; loading that
library directly costs about 4 ms (``ctypes`` and the libraries libpq links) where
importing psycopg costs about 125 ms. Connecting with it gives the same connection as
psycopg's for the same URL: URL syntax, environment variables, ``.pgpass``, SSL and GSS
negotiation, the same connect timeout. The library is psycopg's own copy (the
``psycopg_binary`` wheel's) when it is installed, else the system's ``libpq.so.5`` /
``libpq.5.dylib``; located by listing folders, never by
:func:`ctypes.util.find_library` (which runs compilers and ``ldconfig``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from outcomes.store._pg_read import connect_error
from outcomes.store._pg_wire import Result, Step, meanwhile

_CONNECTION_BAD = 1
_POLLING_FAILED, _POLLING_READING, _POLLING_WRITING, _POLLING_OK = 0, 1, 2, 3
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2


def _library_paths() -> Iterator[str]:
    # psycopg's binary wheel first: the copy the ordinary path uses. Linux wheels keep
    # it as psycopg_binary.libs/libpq-<hash>.so.5.<n>, macOS wheels in .dylibs.
    for entry in sys.path:
        folder = os.path.join(entry or os.curdir, "psycopg_binary.libs")
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            names = []
        yield from (os.path.join(folder, n) for n in names if n.startswith("libpq-"))
        mac = os.path.join(entry or os.curdir, "psycopg_binary", ".dylibs", "libpq.5.dylib")
        if os.path.isfile(mac):
            yield mac
    yield from ("libpq.so.5", "libpq.5.dylib")  # the loader's own search


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    vp, cp, i, u = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint
    signatures: dict[str, tuple[Any, list[Any] | None]] = {
        "PQconninfoParse": (vp, [cp, ctypes.POINTER(cp)]),
        "PQconninfoFree": (None, [vp]),
        "PQfreemem": (None, [vp]),
        "PQconnectStartParams": (vp, [ctypes.POINTER(cp), ctypes.POINTER(cp), i]),
        "PQconnectPoll": (i, [vp]),
        "PQsocket": (i, [vp]),
        "PQstatus": (i, [vp]),
        "PQerrorMessage": (cp, [vp]),
        "PQfinish": (None, [vp]),
        "PQsendQuery": (i, [vp, cp]),
        "PQgetResult": (vp, [vp]),
        "PQresultStatus": (i, [vp]),
        "PQntuples": (i, [vp]),
        "PQnfields": (i, [vp]),
        "PQftype": (u, [vp, i]),
        # No argtypes for the two called once a value: checking them costs a third of
        # each call; ``_result`` passes the result as a ``c_void_p`` and the rest as ints.
        "PQgetvalue": (cp, None),
        "PQgetisnull": (i, None),
        "PQclear": (None, [vp]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


_LAZY = getattr(os, "RTLD_LAZY", ctypes.DEFAULT_MODE)
"""Symbols bound on first call: binding all of libpq's and the dozen libraries it links
(SSL, Kerberos, LDAP) when loading cost 2.0-2.7 ms of CPU here, lazily 1.3-1.4 ms; the
functions used are looked up (``_declare``) all the same, so a missing one still declines."""


def load_libpq() -> ctypes.CDLL | None:
    """libpq with the functions used here declared, or ``None`` when none is found."""
    for path in _library_paths():
        try:
            return _declare(ctypes.CDLL(path, mode=_LAZY))
        except (OSError, AttributeError):
            continue
    return None


def _result(pq: ctypes.CDLL, res: int) -> Result | None:
    """The query result ``res`` as ``_pg_wire`` gives it; ``None`` for a failed
    statement (the caller clears it)."""
    status = pq.PQresultStatus(res)
    if status == _PGRES_COMMAND_OK:
        return None, []
    if status != _PGRES_TUPLES_OK:
        return None
    width = pq.PQnfields(res)
    get, isnull = pq.PQgetvalue, pq.PQgetisnull
    res_p = ctypes.c_void_p(res)
    rows = []
    for r in range(pq.PQntuples(res)):
        row: list[bytes | None] = []
        for c in range(width):
            value = get(res_p, r, c)
            # An empty value is either NULL or an empty string: only then ask which.
            row.append(None if not value and isnull(res_p, r, c) else value)
        rows.append(row)
    return [pq.PQftype(res, c) for c in range(width)], rows


def _connect(pq: ctypes.CDLL, url: str, steps: list[Step], timeout: float) -> int:
    """A connection to ``url``, taking ``steps`` while the server sets it up."""
    import select

    errmsg = ctypes.c_char_p()
    options = pq.PQconninfoParse(url.encode(), ctypes.byref(errmsg))
    if not options:
        reason = (errmsg.value or b"").decode("utf-8", "replace")
        pq.PQfreemem(errmsg)
        raise connect_error(url, reason)
    pq.PQconninfoFree(options)
    # Later keywords win over the URL's own: the precedence of psycopg's keyword
    # arguments, which the ordinary path passes (its timeout wins there too).
    pairs = (("dbname", url), ("connect_timeout", str(timeout)),
             ("client_encoding", "UTF8"))  # fmt: skip
    keys = (ctypes.c_char_p * (len(pairs) + 1))(*(k.encode() for k, _ in pairs), None)
    values = (ctypes.c_char_p * (len(pairs) + 1))(*(v.encode() for _, v in pairs), None)
    conn: int | None = pq.PQconnectStartParams(keys, values, 1)
    if not conn:
        raise connect_error(url, "connection failed: out of memory")
    # Driven on by ``PQconnectPoll`` as psycopg does (it connects the same way), so the
    # timeout is this process's: libpq applies ``connect_timeout`` only when it waits.
    deadline = time.monotonic() + timeout
    try:
        if pq.PQstatus(conn) == _CONNECTION_BAD:
            _failed(pq, conn, url)
        status = _POLLING_WRITING  # what libpq says to assume before the first poll
        while status != _POLLING_OK:
            if status == _POLLING_FAILED:
                _failed(pq, conn, url)
            reading, fd = status == _POLLING_READING, pq.PQsocket(conn)
            if fd < 0:  # not expected while libpq asks to wait on it: its message, if any
                _failed(pq, conn, url)
            meanwhile(fd, reading, steps)
            left = deadline - time.monotonic()
            if left <= 0 or not any(
                select.select([fd] if reading else [], [] if reading else [fd], [], left)
            ):
                raise connect_error(url, "connection timeout expired")
            status = pq.PQconnectPoll(conn)
    except BaseException:
        pq.PQfinish(conn)
        raise
    return conn


def _failed(pq: ctypes.CDLL, conn: int, url: str) -> NoReturn:
    reason = (pq.PQerrorMessage(conn) or b"").decode("utf-8", "replace")
    raise connect_error(url, f"connection failed: {reason}")


def query(url: str, sql: str, steps: list[Step], timeout: float) -> list[Result | None] | None:
    """The results of the simple query ``sql`` (``_pg_wire.query``'s form), taking
    ``steps`` while the server works; ``None`` when no libpq is found. Raises
    :class:`~outcomes.errors.StoreUnavailableError` when the URL is malformed or the
    server cannot be reached within ``timeout`` seconds."""
    pq = load_libpq()
    if pq is None:
        return None
    conn = _connect(pq, url, steps, timeout)
    try:
        if not pq.PQsendQuery(conn, sql.encode()):
            return [None]
        meanwhile(pq.PQsocket(conn), True, steps)
        results = []
        while res := pq.PQgetResult(conn):
            try:
                results.append(_result(pq, res))
            finally:
                pq.PQclear(res)
        return results
    finally:
        pq.PQfinish(conn)  # the transaction read only: closing ends it
