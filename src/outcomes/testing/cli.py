"""Run the ``outcomes`` command line inside a test and look at what it printed.

>>> from outcomes.testing.cli import invoke
>>> result = invoke(["--version"])
>>> result.exit_code, result.stdout.startswith("outcomes ")
(0, True)

The command runs in this process, with standard input, output and error replaced for the
call and the environment changed only for the call, so a test can check exit codes and
messages the way a shell script would see them.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outcomes.cli._framework import App

__all__ = ["Result", "invoke"]


@dataclass(frozen=True)
class Result:
    """What one run of the command line did."""

    exit_code: int
    stdout: str
    stderr: str
    output: str
    """Standard output and error interleaved, as a terminal shows them."""
    exception: BaseException | None = None
    """An exception that escaped the command line (a bug in it), else ``None``."""


class _Tee(io.RawIOBase):
    """Bytes written to one stream, also appended to the shared, interleaved record."""

    def __init__(self, own: io.BytesIO, shared: io.BytesIO) -> None:
        self._own = own
        self._shared = shared

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._own.write(data)
        self._shared.write(data)
        return len(data)


def _text(raw: io.RawIOBase) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding="utf-8", errors="replace", write_through=True
    )


@contextmanager
def _environment(env: Mapping[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    try:
        _set_environment(env)
        yield
    finally:
        _set_environment(saved)


def _set_environment(env: Mapping[str, str | None]) -> None:
    """Set each variable of ``env``; a ``None`` value unsets it."""
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def invoke(
    args: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str | None] | None = None,
    app: App | None = None,
    terminal_width: int | None = None,
) -> Result:
    """Run ``outcomes ARGS`` (or ``app``) with ``input`` on standard input and ``env``
    added to the environment (``None`` removes a variable); return what happened.

    ``terminal_width`` sets ``COLUMNS`` for the call: the width tables are drawn at.
    """
    if app is None:
        from outcomes.cli._app import app as root

        app = root
    data = input.encode() if isinstance(input, str) else (input or b"")
    out, err, both = io.BytesIO(), io.BytesIO(), io.BytesIO()
    stdout, stderr = _text(_Tee(out, both)), _text(_Tee(err, both))
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    exception: BaseException | None = None
    try:
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        width = {} if terminal_width is None else {"COLUMNS": str(terminal_width)}
        with _environment({**(env or {}), **width}):
            code = app.main(list(args))
    except Exception as exc:  # the command line let one through: a bug the test shows
        exception, code = exc, 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdin, sys.stdout, sys.stderr = saved

    def decode(buffer: io.BytesIO) -> str:
        return buffer.getvalue().decode("utf-8", errors="replace")

    return Result(code, decode(out), decode(err), decode(both), exception)
