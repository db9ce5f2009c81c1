"""PostgreSQL's wire protocol, the little of it a read-only command needs, in Python.

``_pg_read`` answers ``outcomes models --json`` from a few rollup rows. Through libpq
that costs, before the first byte goes out, ``ctypes`` (about 3 ms of CPU) and loading
libpq with the dozen libraries it links (about 3.5 ms): a quarter of what the command
spends beyond ``outcomes --version``. For the usual local connection this module speaks
protocol 3.0 itself, with ``_socket`` and ``select`` (under 1 ms to import), and sends
what libpq sends, in its order: the TLS request of ``sslmode=prefer``, the start-up
packet with the same parameters (user, database, ``options``, ``application_name``,
``client_encoding``), the answer to the authentication the server asks for (none, a
password in clear, MD5, SCRAM-SHA-256 without channel binding, as libpq without TLS),
one simple query, Terminate.

It connects only where it is sure to connect as libpq would (:func:`target`): a URL of
one TCP host whose every part it reads (user, password, host, port, database; of the
query only ``options``, ``application_name``, ``sslmode`` ``disable`` or ``prefer``,
``gssencmode`` ``disable`` or ``prefer``); no ``PG*`` environment variable (libpq reads
them); no ``.pgpass`` in the home folder when the URL has no password (libpq would read
it); no Kerberos configuration (``/etc/krb5.conf``, ``KRB5CCNAME``, ``KRB5_CONFIG``, a
``/tmp/krb5cc_<uid>`` cache) unless ``gssencmode=disable`` (libpq may ask for GSS
encryption first); and, unless the URL says ``sslmode=disable``, a loopback host
(``localhost``, ``127.x.x.x``, ``::1``): a remote server usually speaks TLS, which this
module does not, and asking it first would cost a round trip and a server process.
Anything else returns ``None`` before connecting, and ``_pg_read`` uses libpq.

Once connected, anything but the expected exchange (the server accepts TLS, asks for
another authentication, reports an error while connecting, answers with another
protocol version, closes the connection) closes the socket and returns ``None`` as well:
libpq then connects again and answers, or reports the error in its own words. Only a
server that does not answer within the timeout raises :class:`TimeoutError` (waiting
for it a second time would not help). An error on a statement ends the results, as
libpq's do; the caller declines then.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

Step = Callable[[], object]
Result = tuple[list[int] | None, list[list[bytes | None]]]
"""A statement's result: the type OIDs of its columns (``None`` for a command such as
``BEGIN``) and its rows, each value as the server's text, ``None`` for NULL."""

_SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
_PROTOCOL_3_0 = b"\x00\x03\x00\x00"
_QUERY_PARAMS: dict[str, tuple[bytes, ...] | None] = {
    "options": None,
    "application_name": None,
    "sslmode": (b"disable", b"prefer"),
    "gssencmode": (b"disable", b"prefer"),
}
"""The URL query parameters read here, with the values accepted (``None``: any)."""
_KERBEROS = ("/etc/krb5.conf", "/tmp/krb5cc_{uid}")
"""Files that mean libpq may hold Kerberos credentials, and ask for GSS encryption."""
_HEX = frozenset("0123456789abcdefABCDEF")


class _Fallback(Exception):
    """The exchange is not one this module speaks: let libpq connect instead."""


def _unquote(part: str) -> bytes:
    """``part`` percent-decoded as libpq decodes a URL (``%XX`` only, ``+`` stays);
    raises :class:`_Fallback` for a malformed escape or a NUL (libpq refuses both)."""
    first, *pieces = part.split("%")
    out = bytearray(first.encode())
    for piece in pieces:
        if len(piece) < 2 or not _HEX.issuperset(piece[:2]):
            raise _Fallback
        out.append(int(piece[:2], 16))
        out += piece[2:].encode()
    if 0 in out:
        raise _Fallback
    return bytes(out)


def _split_url(url: str) -> tuple[bytes | None, bytes | None, str, str, str, dict[str, bytes]]:
    """(user, password, host, port, database, query) of a ``postgresql://`` URL;
    raises :class:`_Fallback` for anything outside the one-host form."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        raise _Fallback
    user = password = None
    at, slash = rest.find("@"), rest.find("/")
    if at >= 0 and (slash < 0 or at < slash):  # libpq's rule: an '@' before any '/'
        userinfo, rest = rest[:at], rest[at + 1 :]
        if "?" in userinfo:
            raise _Fallback
        name, colon, secret = userinfo.partition(":")
        user = _unquote(name) if name else None
        password = _unquote(secret) if colon else None
    rest, _, query = rest.partition("?")
    authority, _, database = rest.partition("/")
    if "@" in rest or "@" in query or "," in authority or "%" in authority:
        raise _Fallback  # several hosts, an escaped host (a Unix socket's folder)
    if authority.startswith("["):
        host, bracket, port = authority[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise _Fallback
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
    if not host or (port and not (port.isascii() and port.isdigit())):
        raise _Fallback
    params: dict[str, bytes] = {}
    for pair in query.split("&") if query else ():
        key, eq, value = pair.partition("=")
        allowed = _QUERY_PARAMS.get(key, ())
        if not eq or key in params or allowed == ():
            raise _Fallback
        params[key] = _unquote(value)
        if allowed is not None and params[key] not in allowed:
            raise _Fallback
    return user, password, host, port or "5432", database, params


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "::1"):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isascii() and p.isdigit() for p in parts)


def _os_user() -> tuple[bytes, str] | None:
    """The name and home folder of the user this process runs as (libpq's default user
    name and where it looks for ``.pgpass``); ``None`` where there is no such entry."""
    try:
        import pwd

        entry = pwd.getpwuid(os.geteuid())
    except (ImportError, KeyError, AttributeError):
        return None
    return entry.pw_name.encode(), entry.pw_dir


def target(url: str, environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """What to connect to for ``url`` (``host``, ``port``, ``ssl``: whether to ask for TLS
    first, ``user``, ``password``, the ``startup`` parameters), or ``None`` when libpq
    might connect otherwise (the module docstring says when)."""
    try:
        user, password, host, port, database, params = _split_url(url)
        dbname = _unquote(database) if database else None
    except _Fallback:
        return None
    if any(k.startswith("PG") for k in environ):
        return None
    ssl = params.get("sslmode", b"prefer") == b"prefer"
    if ssl and not _is_loopback(host):
        return None
    os_user = _os_user()
    if params.get("gssencmode", b"prefer") == b"prefer" and (
        "KRB5CCNAME" in environ
        or "KRB5_CONFIG" in environ
        or any(os.path.exists(p.format(uid=os.getuid())) for p in _KERBEROS)
    ):
        return None
    homes = {environ.get("HOME", ""), os_user[1] if os_user else ""} - {""}
    if password is None and any(os.path.exists(os.path.join(h, ".pgpass")) for h in homes):
        return None
    if user is None:
        if os_user is None:
            return None
        user = os_user[0]
    startup = [(b"user", user), (b"database", dbname or user)]
    startup += [(k.encode(), params[k]) for k in ("options", "application_name") if k in params]
    startup.append((b"client_encoding", b"UTF8"))
    return {"host": host, "port": int(port), "ssl": ssl, "user": user, "password": password,
            "startup": startup}  # fmt: skip


def meanwhile(fd: int, reading: bool, steps: list[Step]) -> None:
    """Take the next of ``steps`` (removing it) for as long as the socket ``fd`` is not
    ready to read (``reading``) or write, that is while the server is still at work."""
    import select

    while steps and not any(select.select([fd] if reading else [], [] if reading else [fd], [], 0)):
        steps.pop(0)()


class _Connection:
    """One socket to the server, read message by message; until :attr:`deadline`
    (``time.monotonic``) while connecting, then without a limit (as libpq's reads)."""

    def __init__(self, sock: Any, deadline: float | None, steps: list[Step]) -> None:
        self.sock, self.deadline, self.steps = sock, deadline, steps
        self.buffer = bytearray()

    def send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + (len(body) + 4).to_bytes(4, "big") + body)

    def fill(self) -> None:
        meanwhile(self.sock.fileno(), True, self.steps)
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise _Fallback  # the server closed the connection
        self.buffer += data

    def message(self) -> tuple[int, bytes]:
        """The next message: its type byte and its body."""
        buf = self.buffer
        while len(buf) < 5 or len(buf) < 1 + int.from_bytes(buf[1:5], "big"):
            self.fill()
        end = 1 + int.from_bytes(buf[1:5], "big")
        kind, body = buf[0], bytes(buf[5:end])
        del buf[:end]
        return kind, body


def _is_address(socket_module: Any, family: int, host: str) -> bool:
    try:
        socket_module.inet_pton(family, host)
    except OSError:
        return False
    return True


def _open(host: str, port: int, deadline: float, steps: list[Step]) -> Any:
    """A TCP socket connected to ``host``, its addresses tried in order as libpq tries
    them; :class:`_Fallback` when none accepts (libpq then says why)."""
    import _socket
    import errno
    import select

    # An address written out needs no resolver (which reads the system's name service
    # configuration first: about 1 ms).
    addresses: list[tuple[Any, ...]] = [
        (family, _socket.SOCK_STREAM, 0, "", (host, port))
        for family in (_socket.AF_INET, _socket.AF_INET6)
        if _is_address(_socket, family, host)
    ]
    try:
        addresses = addresses or list(_socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM))
    except OSError:
        raise _Fallback from None
    for family, kind, proto, _, address in addresses:
        sock = _socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if sock.connect_ex(address) not in (0, errno.EINPROGRESS):
                raise ConnectionError
            fd = sock.fileno()
            meanwhile(fd, False, steps)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise TimeoutError
            if sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR):
                raise ConnectionError
            # As libpq: each message leaves at once instead of waiting to be merged.
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError:
            sock.close()
    raise _Fallback


class _Scram:
    """SCRAM-SHA-256 (RFC 5802, RFC 7677) as libpq runs it without TLS: no channel
    binding, an empty user name (the server takes the start-up packet's), 18 random
    bytes of nonce."""

    def __init__(self, password: bytes) -> None:
        import binascii

        self.password = password
        self.nonce = binascii.b2a_base64(os.urandom(18), newline=False)
        self.first_bare = b"n=,r=" + self.nonce
        self.auth = self.server_key = b""

    def first(self) -> bytes:
        return b"n,," + self.first_bare

    def final(self, server_first: bytes) -> bytes:
        import binascii
        import hashlib
        import hmac

        parts = server_first.split(b",")
        if len(parts) != 3 or [p[:2] for p in parts] != [b"r=", b"s=", b"i="]:
            raise _Fallback
        nonce = parts[0][2:]
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce):
            raise _Fallback
        try:
            salt, iterations = binascii.a2b_base64(parts[1][2:]), int(parts[2][2:])
        except ValueError:
            raise _Fallback from None
        if iterations < 1:
            raise _Fallback
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = b"c=biws,r=" + nonce  # biws: base64 of the header "n,,"
        self.auth = self.first_bare + b"," + server_first + b"," + without_proof
        signature = hmac.digest(hashlib.sha256(client_key).digest(), self.auth, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_key = hmac.digest(salted, b"Server Key", "sha256")
        return without_proof + b",p=" + binascii.b2a_base64(proof, newline=False)

    def check(self, server_final: bytes) -> None:
        """Raises :class:`_Fallback` unless the server proved it knows the password."""
        import binascii
        import hmac

        expected = hmac.digest(self.server_key, self.auth, "sha256")
        try:
            ok = server_final[:2] == b"v=" and hmac.compare_digest(
                binascii.a2b_base64(server_final[2:]), expected
            )
        except ValueError:
            ok = False
        if not ok or not self.auth:
            raise _Fallback


def _authenticate(
    conn: _Connection, body: bytes, to: dict[str, Any], scram: _Scram | None
) -> _Scram | None:
    """Answer the authentication request ``body`` (an ``R`` message); returns the SCRAM
    exchange under way, if any. Raises :class:`_Fallback` for a request not answered here."""
    code, password = int.from_bytes(body[:4], "big"), to["password"]
    if password is None:
        raise _Fallback  # libpq would say that a password is needed
    if code == 3:  # a password in clear
        conn.send(b"p", password + b"\0")
    elif code == 5:  # MD5 of MD5(password, user) and the salt
        import hashlib

        inner = hashlib.md5(password + to["user"]).hexdigest().encode()
        conn.send(b"p", b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode() + b"\0")
    elif code == 10 and scram is None:
        # SASLprep leaves an ASCII password as it is; another, libpq normalizes.
        if b"SCRAM-SHA-256" not in body[4:].split(b"\0") or not password.isascii():
            raise _Fallback
        scram = _Scram(password)
        first = scram.first()
        conn.send(b"p", b"SCRAM-SHA-256\0" + len(first).to_bytes(4, "big") + first)
    elif code == 11 and scram is not None:
        conn.send(b"p", scram.final(body[4:]))
    elif code == 12 and scram is not None:
        scram.check(body[4:])
    else:
        raise _Fallback
    return scram


def _start(conn: _Connection, to: dict[str, Any]) -> None:
    """Negotiate, start up and authenticate, up to the server's first ReadyForQuery."""
    if to["ssl"]:
        conn.sock.sendall(_SSL_REQUEST)
        conn.fill()
        # 'N': no TLS, go on in clear. 'S' is libpq's to take; more than the one byte
        # would be bytes injected ahead of the handshake (libpq refuses them too).
        if bytes(conn.buffer) != b"N":
            raise _Fallback
        conn.buffer.clear()
    packet = _PROTOCOL_3_0 + b"".join(k + b"\0" + v + b"\0" for k, v in to["startup"]) + b"\0"
    conn.sock.sendall((len(packet) + 4).to_bytes(4, "big") + packet)
    scram, authenticated = None, False
    while True:
        kind, body = conn.message()
        if kind == 0x52 and not authenticated:  # R: authentication
            if body[:4] == b"\0\0\0\0":
                if scram is not None and not scram.auth:
                    raise _Fallback  # SCRAM started, never finished
                authenticated = True
            else:
                scram = _authenticate(conn, body, to, scram)
        elif kind == 0x53:  # S: a parameter's value
            name, value, *_ = body.split(b"\0")
            if name == b"client_encoding" and value != b"UTF8":
                raise _Fallback
        elif kind in (0x4B, 0x4E):  # K: the cancel key; N: a notice
            continue
        elif kind == 0x5A and authenticated:  # Z: ready for a query
            return
        else:  # E: an error (libpq reports it); v: another protocol version; others
            raise _Fallback


def _columns(body: bytes) -> list[int]:
    """The type OIDs of a RowDescription."""
    oids, pos = [], 2
    for _ in range(int.from_bytes(body[:2], "big")):
        pos = body.index(0, pos) + 1 + 6  # the name, its table's OID and column number
        oids.append(int.from_bytes(body[pos : pos + 4], "big"))
        pos += 12  # the type OID, its size, its modifier, the format code
    return oids


def _values(body: bytes) -> list[bytes | None]:
    """The values of a DataRow (``None`` for NULL)."""
    values: list[bytes | None] = []
    pos = 2
    for _ in range(int.from_bytes(body[:2], "big")):
        size = int.from_bytes(body[pos : pos + 4], "big", signed=True)
        pos += 4
        if size < 0:
            values.append(None)
        else:
            values.append(body[pos : pos + size])
            pos += size
    return values


def _results(conn: _Connection, sql: str) -> list[Result | None]:
    """The results of the simple query ``sql``, ``None`` for a statement that failed
    (the server runs none after it)."""
    conn.send(b"Q", sql.encode() + b"\0")
    results: list[Result | None] = []
    oids: list[int] | None = None
    rows: list[list[bytes | None]] = []
    while True:
        kind, body = conn.message()
        if kind == 0x44:  # D: a row
            rows.append(_values(body))
        elif kind == 0x54:  # T: the columns of the rows to come
            oids, rows = _columns(body), []
        elif kind == 0x43:  # C: a statement done
            results.append((oids, rows))
            oids, rows = None, []
        elif kind == 0x45:  # E: an error
            results.append(None)
        elif kind == 0x5A:  # Z: every statement done
            return results
        elif kind not in (0x4E, 0x53, 0x41):  # a notice, a parameter, a notification
            raise _Fallback


def query(url: str, sql: str, steps: list[Step], timeout: float) -> list[Result | None] | None:
    """The results of the simple query ``sql`` on the server at ``url``, taking
    ``steps`` while waiting for it; ``None`` when libpq should connect instead (see the
    module docstring). Raises :class:`TimeoutError` when the server does not finish
    setting up the connection within ``timeout`` seconds."""
    to = target(url)
    if to is None:
        return None
    deadline = time.monotonic() + timeout
    try:
        sock = _open(to["host"], to["port"], deadline, steps)
    except _Fallback:
        return None
    try:
        conn = _Connection(sock, deadline, steps)
        _start(conn, to)
        conn.deadline = None
        results = _results(conn, sql)
        conn.send(b"X", b"")  # Terminate: the transaction read only, ending it is enough
        return results
    except TimeoutError:
        raise
    except (_Fallback, OSError):
        return None
    finally:
        sock.close()
