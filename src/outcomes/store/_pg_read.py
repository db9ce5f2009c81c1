"""A read of a PostgreSQL store through libpq alone: for read-only commands.

``outcomes models --json`` and ``ledger stats --json`` read a few rollup rows; on a
PostgreSQL store, importing psycopg to do so costs about 125 ms of CPU (its adapters,
``asyncio``, ``logging``, ``ssl``), four times what the rest of the command costs.
psycopg is itself a wrapper of libpq, the server's own C client library:
:func:`read_current` loads that library with :mod:`ctypes` (about 4 ms with ``ctypes``
itself and the libraries libpq links), connects with
the URL as psycopg would (same library, same URL syntax, environment variables,
``.pgpass``, SSL and GSS negotiation, the same connect timeout), checks in one read-only
transaction that the schema is the one this version writes (every core and PostgreSQL
migration applied, none it does not know) and returns the rows, decoded as psycopg
decodes them for the types these statements return; the transaction, the check and
the reads go in one round trip.

The library is psycopg's own copy (the ``psycopg_binary`` wheel's) when it is installed,
else the system's ``libpq.so.5`` / ``libpq.5.dylib``; located by listing folders,
never by :func:`ctypes.util.find_library` (which runs compilers and ``ldconfig``).

Anything it is not sure of returns ``None``, and the caller opens the store the ordinary
way (which migrates, or reports the error): no libpq found, a schema not current, a
server error, a column type outside the few decoded here, text that is not UTF-8. A URL
libpq refuses or a server it cannot reach raises
:class:`~outcomes.errors.StoreUnavailableError` in the words the ordinary path uses,
without the password, rather than trying a second time.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

from outcomes.errors import StoreUnavailableError
from outcomes.store._sqlite_read import CORE_MIGRATION_NAMES, MIGRATIONS_TABLE, Rows, wing_current

PG_MIGRATION_NAMES = (
    "pg.0001_receipts_partitioned",
    "pg.0002_compact_receipts",
    "pg.0003_timestamp_brin",
    "pg.0004_unique_ids_by_partition",
)
"""The names of the PostgreSQL store's own migrations, in order (``store/_postgres.py``
refuses to load if they differ from ``PG_MIGRATIONS``)."""
CONNECT_TIMEOUT_S = 10
"""Seconds to wait for the server, on both read paths (over a ``connect_timeout`` in the
URL, as psycopg's keyword arguments win over the URL's)."""

_CONNECTION_BAD = 1
_POLLING_FAILED, _POLLING_READING, _POLLING_WRITING, _POLLING_OK = 0, 1, 2, 3
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2


_Step = Callable[[], object]


class _Decline(Exception):
    """Not sure to read exactly as the ordinary path would: let it run instead."""


_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})
"""The URL parameters libpq takes that hold a secret (``sslpassword``: the client key's)."""


def _secrets(url: str) -> list[str]:
    """The passwords of ``url`` as written and decoded, in its user part or its query."""
    # Imported on error only: ``urllib.parse`` loads ``ipaddress`` (2 ms in all).
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        query = parse_qsl(parts.query, keep_blank_values=True)
        found += [v for k, v in query if k in _SECRET_PARAMETERS]
    except ValueError:
        return []
    raw = [s for s in found if s]
    return sorted({*raw, *(unquote(s) for s in raw)}, key=len, reverse=True)


def hide_password(url: str) -> str:
    """``url`` with its passwords (user part, ``password=`` and ``sslpassword=``) shown as
    ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password:
            netloc = netloc.replace(f":{parts.password}@", ":***@")
        query = "&".join(
            f"{name}=***" if (name := p.partition("=")[0]) in _SECRET_PARAMETERS else p
            for p in parts.query.split("&")
        )
    except ValueError:
        return "(a URL that does not parse)"
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def connect_error(url: str, message: str) -> StoreUnavailableError:
    """The error for a connection to ``url`` that failed with ``message`` (libpq's or
    psycopg's words), with the password hidden in both."""
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return StoreUnavailableError(f"cannot connect to {hide_password(url)}: {message.strip()}")


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
        # each call; ``_rows`` passes the result as a ``c_void_p`` and the rest as ints.
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


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _whole(value: bytes) -> int:
    # numeric (what SUM of a bigint returns): psycopg gives a Decimal, which the readers
    # turn into an int; only whole numbers are expected here.
    return int(value)


_DECODERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda v: v == b"t",  # bool
    20: int, 21: int, 23: int,  # int8, int2, int4
    700: float, 701: float,  # float4, float8 (text output round-trips, as psycopg reads it)
    1700: _whole,  # numeric
    19: _text, 25: _text, 1043: _text,  # name, text, varchar
}  # fmt: skip
"""How each column type the statements return is decoded; any other type declines."""


def _rows(pq: ctypes.CDLL, res: int) -> Rows:
    """The rows of the query result ``res``, decoded (the caller clears it)."""
    try:
        if pq.PQresultStatus(res) != _PGRES_TUPLES_OK:
            raise _Decline
        width = pq.PQnfields(res)
        decoders = [_DECODERS.get(pq.PQftype(res, c)) for c in range(width)]
        if None in decoders:
            raise _Decline
        get, isnull = pq.PQgetvalue, pq.PQgetisnull
        res_p = ctypes.c_void_p(res)
        rows: Rows = []
        for r in range(pq.PQntuples(res)):
            row = []
            for c, decode in enumerate(decoders):
                value = get(res_p, r, c)
                # An empty value is either NULL or an empty string: only then ask which.
                row.append(None if not value and isnull(res_p, r, c) else decode(value))  # type: ignore[misc]
            rows.append(tuple(row))
        return rows
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Decline from exc


def _results(pq: ctypes.CDLL, conn: int, statements: list[str], steps: list[_Step]) -> list[int]:
    """The results of ``statements`` sent in one round trip (one simple query: after a
    failed statement the server skips the rest, and the failure declines), taking
    ``steps`` while the server answers."""
    if not pq.PQsendQuery(conn, ";\n".join(statements).encode()):
        raise _Decline
    _meanwhile(pq.PQsocket(conn), True, steps)
    results = []
    while res := pq.PQgetResult(conn):
        results.append(res)
    return results


def _current(applied_rows: Rows, wing: tuple[str, ...] = ()) -> bool:
    """Whether the migrations applied (rows of their names) are those of this version's
    schema (see above), with those ``wing`` names (``_sqlite_read.wing_current``)."""
    applied = {str(r[0]) for r in applied_rows}
    # A name this version does not know means a newer outcomes migrated the database:
    # the ordinary open decides what to say about it.
    ours = {n for n in applied if n.startswith(("core.", "pg."))}
    return ours == {*CORE_MIGRATION_NAMES, *PG_MIGRATION_NAMES} and wing_current(applied, wing)


def _meanwhile(fd: int, reading: bool, steps: list[_Step]) -> None:
    """Take the next of ``steps`` (removing it) for as long as the socket ``fd`` is not
    ready to read (``reading``) or write, that is while the server is still at work."""
    import select

    while steps and not any(select.select([fd] if reading else [], [] if reading else [fd], [], 0)):
        steps.pop(0)()


def _connect(pq: ctypes.CDLL, url: str, steps: list[_Step]) -> int:
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
    pairs = (("dbname", url), ("connect_timeout", str(CONNECT_TIMEOUT_S)),
             ("client_encoding", "UTF8"))  # fmt: skip
    keys = (ctypes.c_char_p * (len(pairs) + 1))(*(k.encode() for k, _ in pairs), None)
    values = (ctypes.c_char_p * (len(pairs) + 1))(*(v.encode() for _, v in pairs), None)
    conn: int | None = pq.PQconnectStartParams(keys, values, 1)
    if not conn:
        raise connect_error(url, "connection failed: out of memory")
    # Driven on by ``PQconnectPoll`` as psycopg does (it connects the same way), so the
    # timeout is this process's: libpq applies ``connect_timeout`` only when it waits.
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
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
            _meanwhile(fd, reading, steps)
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


def read_current(
    url: str, *selects: str, meanwhile: Iterable[_Step] = (), wing: tuple[str, ...] = ()
) -> list[Rows] | None:
    """The rows of each of ``selects`` on the PostgreSQL store at ``url``, read in one
    read-only transaction; ``None`` when libpq is missing or the database is not a
    current store (see above) or lacks the migrations ``wing`` names. The steps of
    ``meanwhile`` (a caller's imports) are taken in order while the server sets the
    connection up or runs the statements, none once it has answered (the caller takes
    those left). Raises
    :class:`~outcomes.errors.StoreUnavailableError` when the URL is malformed or the
    server cannot be reached."""
    pq = load_libpq()
    if pq is None:
        return None
    steps = list(meanwhile)
    conn = _connect(pq, url, steps)
    try:
        # One round trip for the transaction, the schema check and the reads.
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        statements = [begin, f"SELECT name FROM {MIGRATIONS_TABLE}", *selects]
        results = _results(pq, conn, statements, steps)
        try:
            if len(results) != len(selects) + 2:
                raise _Decline
            if pq.PQresultStatus(results[0]) != _PGRES_COMMAND_OK:
                raise _Decline
            if not _current(_rows(pq, results[1]), wing):
                return None
            return [_rows(pq, res) for res in results[2:]]
        finally:
            for res in results:
                pq.PQclear(res)
    except _Decline:
        return None
    finally:
        pq.PQfinish(conn)  # the transaction read only: closing ends it
