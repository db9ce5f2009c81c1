"""``store._pg_wire``: which URLs it connects to itself, and the exchange it has with a
server, checked against a scripted server on a local socket (the tests' real server
trusts every connection, so only this one asks for passwords)."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from outcomes.store import _pg_wire
from outcomes.store._pg_wire import _Scram

ENV: dict[str, str] = {}


@pytest.mark.parametrize(
    ("url", "connects"),
    [
        ("postgresql://u@127.0.0.1:5432/db", True),
        ("postgres://u:p%40ss@localhost/db?options=-c%20search_path%3Ds&application_name=x", True),
        ("postgresql://u@[::1]:5433/db", True),
        ("postgresql://u@127.0.0.1/db?sslmode=prefer&gssencmode=disable", True),
        ("postgresql://u@db.example.com/db?sslmode=disable", True),  # told: no TLS
        ("postgresql://u@db.example.com/db", False),  # remote: TLS is likely, libpq's
        ("postgresql://u@127.0.0.1/db?sslmode=require", False),
        ("postgresql://u@127.0.0.1/db?sslmode=allow", False),
        ("postgresql://u@127.0.0.1/db?keepalives=1", False),  # a parameter not read here
        ("postgresql://u@127.0.0.1/db?password=x", False),
        ("postgresql://u@127.0.0.1/db?options=a&options=b", False),
        ("postgresql://u@127.0.0.1/db?options", False),
        ("postgresql://u@h1,h2/db?sslmode=disable", False),  # several hosts
        ("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db", False),  # a Unix socket
        ("postgresql:///db", False),  # no host: a Unix socket
        ("postgresql://u:s3cr%zzpw@127.0.0.1/db", False),  # a bad escape: libpq's error
        ("postgresql://u@127.0.0.1/d%00b", False),
        ("postgresql://u@127.0.0.1:54x/db", False),
        ("postgresql://u@[::1/db", False),
        ("mysql://u@127.0.0.1/db", False),
        ("postgresql://u@127.0.0.1/db?application_name=a@b", False),
    ],
)
def test_target_takes_only_urls_it_reads_whole(url: str, connects: bool) -> None:
    assert (_pg_wire.target(url, ENV) is not None) == connects


def test_target_reads_the_url_as_libpq_does() -> None:
    to = _pg_wire.target("postgresql://us%65r:p%40ss@[::1]:6543/my%20db?options=-c%20x%3D1", ENV)
    assert to is not None
    assert (to["host"], to["port"], to["ssl"]) == ("::1", 6543, True)
    assert (to["user"], to["password"]) == (b"user", b"p@ss")
    assert to["startup"] == [
        (b"user", b"user"), (b"database", b"my db"), (b"options", b"-c x=1"),
        (b"client_encoding", b"UTF8"),
    ]  # fmt: skip
    defaults = _pg_wire.target("postgresql://127.0.0.1?sslmode=disable", ENV)
    assert defaults is not None
    assert (defaults["port"], defaults["ssl"], defaults["password"]) == (5432, False, None)
    # No user: the operating system's, as libpq takes it; the database is named after it.
    assert defaults["startup"][:2] == [(b"user", defaults["user"]), (b"database", defaults["user"])]


@pytest.mark.parametrize(
    "environ", [{"PGHOST": "elsewhere"}, {"PGSSLMODE": "require"}, {"KRB5CCNAME": "FILE:/tmp/x"}]
)
def test_target_leaves_to_libpq_what_the_environment_may_change(environ: dict[str, str]) -> None:
    assert _pg_wire.target("postgresql://u@127.0.0.1/db", environ) is None


def test_target_leaves_a_password_file_to_libpq_unless_the_url_has_a_password(
    tmp_path: Path,
) -> None:
    (tmp_path / ".pgpass").write_text("*:*:*:*:secret\n")
    home = {"HOME": str(tmp_path)}
    assert _pg_wire.target("postgresql://u@127.0.0.1/db", home) is None
    assert _pg_wire.target("postgresql://u:pw@127.0.0.1/db", home) is not None


def test_scram_exchange_is_rfc_7677s() -> None:
    # RFC 7677, section 3: user "user", password "pencil".
    scram = _Scram(b"pencil", user=b"user", nonce=b"rOprNGfwEbeRWgbNEkqO")
    assert scram.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert scram.final(server_first) == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    scram.check(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    with pytest.raises(_pg_wire._Fallback):
        scram.check(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


# -- a scripted server ---------------------------------------------------------------


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def _auth(code: int, data: bytes = b"") -> bytes:
    return _msg(b"R", code.to_bytes(4, "big") + data)


_READY = _auth(0) + _msg(b"S", b"client_encoding\0UTF8\0") + _msg(b"K", bytes(8)) + _msg(b"Z", b"I")
_ANSWER = (
    _msg(b"C", b"BEGIN\0")
    + _msg(b"T", b"\0\1" + b"n\0" + bytes(6) + (23).to_bytes(4, "big") + bytes(8))
    + _msg(b"D", b"\0\1" + (2).to_bytes(4, "big") + b"42")
    + _msg(b"D", b"\0\1" + (-1).to_bytes(4, "big", signed=True))
    + _msg(b"C", b"SELECT 2\0")
    + _msg(b"Z", b"I")
)
ANSWERED = [(None, []), ([23], [[b"42"], [None]])]


class _Peer:
    """The server's end of one connection: whole messages in, bytes out."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buffer += data
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def untyped(self) -> bytes:
        return self.read(int.from_bytes(self.read(4), "big") - 4)

    def message(self) -> tuple[bytes, bytes]:
        kind = self.read(1)
        return kind, self.read(int.from_bytes(self.read(4), "big") - 4)


Script = Callable[[_Peer], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Script], str]]:
    """Run a script as the server of one connection; gives its URL's host and port.
    The script's failures (an assertion on what the client sent) fail the test."""
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def run(script: Script) -> str:
        def main() -> None:
            conn, _ = listener.accept()
            try:
                script(_Peer(conn))
            except EOFError:
                pass
            except BaseException as exc:
                errors.append(exc)
            finally:
                conn.close()

        threads.append(threading.Thread(target=main, daemon=True))
        threads[-1].start()
        return f"127.0.0.1:{listener.getsockname()[1]}"

    yield run
    for t in threads:
        t.join(5)
    listener.close()
    if errors:
        raise errors[0]


def _start(peer: _Peer, offer_tls: bool = False) -> dict[bytes, bytes]:
    """The TLS request and the start-up packet; returns its parameters."""
    assert peer.untyped() == (80877103).to_bytes(4, "big")  # SSLRequest
    peer.sock.sendall(b"S" if offer_tls else b"N")
    if offer_tls:
        raise EOFError
    packet = peer.untyped()
    assert packet[:4] == (196608).to_bytes(4, "big")  # protocol 3.0
    fields = packet[4:].split(b"\0")
    return dict(zip(fields[0:-2:2], fields[1:-2:2], strict=True))


def _query(peer: _Peer) -> None:
    kind, body = peer.message()
    assert (kind, body) == (b"Q", b"BEGIN; SELECT 42\0")
    peer.sock.sendall(_ANSWER)
    assert peer.message() == (b"X", b"")


def _trust(peer: _Peer) -> None:
    params = _start(peer)
    assert params == {b"user": b"u", b"database": b"db", b"client_encoding": b"UTF8"}
    peer.sock.sendall(_READY)
    _query(peer)


def _cleartext(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_auth(3))
    assert peer.message() == (b"p", b"s3cret\0")
    peer.sock.sendall(_READY)
    _query(peer)


def _md5(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_auth(5, b"salt"))
    inner = hashlib.md5(b"s3cretu").hexdigest().encode()
    assert peer.message() == (
        b"p",
        b"md5" + hashlib.md5(inner + b"salt").hexdigest().encode() + b"\0",
    )
    peer.sock.sendall(_READY)
    _query(peer)


def _scram(peer: _Peer, tamper: bool = False) -> None:
    """The server's side of SCRAM-SHA-256, written from RFC 5802 (the stored key and the
    server key from the password, then the client's proof checked against them)."""
    _start(peer)
    peer.sock.sendall(_auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
    kind, body = peer.message()
    mechanism, _, rest = body.partition(b"\0")
    assert (kind, mechanism) == (b"p", b"SCRAM-SHA-256")
    client_first = rest[4:]
    assert client_first.startswith(b"n,,n=,r=")
    nonce = client_first.split(b"r=")[1] + b"server-part"
    salt = b"0123456789abcdef"
    server_first = b"r=" + nonce + b",s=" + binascii.b2a_base64(salt, newline=False) + b",i=64"
    peer.sock.sendall(_auth(11, server_first))
    kind, client_final = peer.message()
    without_proof, _, proof = client_final.rpartition(b",p=")
    assert without_proof == b"c=biws,r=" + nonce
    salted = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 64)
    stored = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    auth = client_first[3:] + b"," + server_first + b"," + without_proof
    signature = hmac.digest(stored, auth, "sha256")
    client_key = bytes(a ^ b for a, b in zip(binascii.a2b_base64(proof), signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored  # the client knew the password
    proof_of_server = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
    if tamper:
        proof_of_server = bytes(32)
    peer.sock.sendall(_auth(12, b"v=" + binascii.b2a_base64(proof_of_server, newline=False)))
    peer.sock.sendall(_READY)
    _query(peer)


@pytest.mark.parametrize(
    ("script", "password"),
    [(_trust, ""), (_cleartext, ":s3cret"), (_md5, ":s3cret"), (_scram, ":s3cret")],
)
def test_exchange_with_a_server_that_asks_for_each_authentication(
    serve: Callable[[Script], str], script: Script, password: str
) -> None:
    url = f"postgresql://u{password}@{serve(script)}/db"
    assert _pg_wire.query(url, "BEGIN; SELECT 42", [], 5) == ANSWERED


def _tls(peer: _Peer) -> None:
    _start(peer, offer_tls=True)


def _gss(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_auth(7))


def _refuse(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_msg(b"E", b'SFATAL\0C3D000\0Mdatabase "db" does not exist\0\0'))


def _forged(peer: _Peer) -> None:
    _scram(peer, tamper=True)


def _no_password(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_auth(3))


def _latin1(peer: _Peer) -> None:
    _start(peer)
    peer.sock.sendall(_auth(0) + _msg(b"S", b"client_encoding\0LATIN1\0") + _msg(b"Z", b"I"))


@pytest.mark.parametrize(
    ("script", "password"),
    [(_tls, ""), (_gss, ":s3cret"), (_refuse, ""), (_forged, ":s3cret"), (_no_password, ""),
     (_latin1, "")],
)  # fmt: skip
def test_anything_else_is_left_to_libpq(
    serve: Callable[[Script], str], script: Script, password: str
) -> None:
    # TLS accepted, GSS asked for, an error at start-up, a server that does not know the
    # password, a password asked for and none given, another encoding: libpq's to say.
    url = f"postgresql://u{password}@{serve(script)}/db"
    assert _pg_wire.query(url, "BEGIN; SELECT 42", [], 5) is None


def test_a_failed_statement_ends_the_results(serve: Callable[[Script], str]) -> None:
    def script(peer: _Peer) -> None:
        _start(peer)
        peer.sock.sendall(_READY)
        peer.message()
        error = _msg(b"E", b"SERROR\0C42P01\0Mno such table\0\0")
        peer.sock.sendall(_msg(b"C", b"BEGIN\0") + error + _msg(b"Z", b"E"))
        assert peer.message() == (b"X", b"")

    url = f"postgresql://u@{serve(script)}/db"
    assert _pg_wire.query(url, "BEGIN; SELECT 1 FROM nowhere; SELECT 2", [], 5) == [
        (None, []),
        None,
    ]


def test_a_refused_connection_is_left_to_libpq() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert _pg_wire.query(f"postgresql://u@127.0.0.1:{port}/db", "SELECT 1", [], 5) is None
