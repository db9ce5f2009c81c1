"""The link policy of ``docs/security.md`` on plain strings: a start-up without ``pathlib``.

``pathlib`` loads ``urllib.parse`` and ``ipaddress`` (about 4 ms), a fifth of what
``outcomes models --json`` costs without it (``cli._fast``). :func:`check_links` is the
policy itself; :func:`outcomes._files.check_path` applies it to a ``Path``, so both ways
decide alike. :func:`plain_path` says whether a string is already written the way
``Path(...).expanduser()`` prints it, so that a caller holding strings can apply the
policy to the very path the ``Path`` caller would (and decline the rare other spelling).
"""

from __future__ import annotations

import errno
import os

from outcomes.errors import UnsafePathError


def plain_path(raw: str) -> str | None:
    """``raw`` with ``~`` expanded, when that is exactly ``str(Path(raw).expanduser())``;
    ``None`` for any other spelling (empty, ``/``, a doubled or trailing ``/``, a ``.``
    part, a ``~`` that does not expand), which ``Path`` would rewrite."""
    path = os.path.expanduser(raw) if raw.startswith("~") else raw
    if path.startswith(("~", "//")):
        return None
    parts = path.split("/")
    if any(part in ("", ".") for part in (parts[1:] if path.startswith("/") else parts)):
        return None
    return path


def _resolve(path: str) -> str:
    """``Path(path).resolve()``, except that a link loop is refused as unsafe (``pathlib``
    raises a bare ``RuntimeError`` for it before Python 3.13)."""
    resolved = os.path.realpath(path)
    try:
        os.stat(resolved)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{path} is a loop of symlinks; remove it") from None
    return resolved


def check_links(target: str, root: str | None, *, explicit: bool) -> None:
    """Raise :class:`UnsafePathError` if the link policy refuses ``target`` (see
    :func:`outcomes._files.check_path`; both are written as ``Path`` prints them)."""
    if os.path.islink(target):
        link = os.readlink(target)
        if not os.path.exists(target):
            raise UnsafePathError(
                f"{target} is a dangling symlink (to {link}); remove it or pass a real path"
            )
        if not explicit:
            raise UnsafePathError(
                f"{target} is a symlink (to {link}); outcomes does not follow links in the "
                "folder it manages. Remove the link, or pass the real path explicitly"
            )
    if root is not None and not explicit:
        base = _resolve(root)
        resolved = _resolve(target)
        if resolved != base and os.path.commonpath([base, resolved]) != base:
            raise UnsafePathError(
                f"{target} resolves to {resolved}, outside the folder outcomes manages ({base})"
            )
