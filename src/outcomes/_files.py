"""Every file ``outcomes`` writes goes through here: owner-only, atomic, never through a link.

The rules (``docs/security.md``):

- **Owner-only.** Files are created ``0600`` (folders ``0700``). A file that ``outcomes``
  did not create is never ``chmod``-ed: an atomic rewrite replaces it with a new file of
  ours, it does not change the mode of someone else's file.
- **Atomic.** A rewrite goes to a temporary file in the same folder (``.<name>.<random>.tmp``,
  created ``0600`` by :func:`tempfile.mkstemp`), is flushed and fsynced, then renamed over
  the target, and the folder is fsynced. A killed save leaves at most a stale ``.tmp``
  file, which :func:`clean_stale_tmp` removes on the next open once it is old enough that
  no live writer can still own it.
- **No surprise folders.** The parent folder of an explicit path must exist; only the
  folder ``outcomes`` manages (``$OUTCOMES_HOME``) is created, ``0700``.
- **Links are not followed where ``outcomes`` chose the path.** A path that ``outcomes``
  derived itself (its database, caches, profile files under ``$OUTCOMES_HOME``) must not
  be a symlink and must resolve inside the managed folder; a path the user typed is
  trusted as given. A dangling symlink is always a clear error.
- **Corrupt files are kept.** :func:`quarantine` renames a file aside under a name that is
  unique even for two files quarantined within the same second.
- **Devices and pipes are written to, never replaced.** An output path that names one
  (``/dev/null``, ``/dev/stdout``, a FIFO) gets the bytes as a stream, with nothing to make
  atomic; renaming a file over it would replace the device node itself (as root, for every
  program on the machine). :func:`quarantine` moves only regular files.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from outcomes._paths import check_links
from outcomes.errors import UnsafePathError

FILE_MODE = 0o600
DIR_MODE = 0o700
STALE_TMP_SECONDS = 15 * 60.0
"""A ``.tmp`` file untouched this long belongs to a save that was killed: an atomic save
writes continuously (every write updates the file's mtime), so a live one is younger."""


def check_path(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    explicit: bool = True,
) -> Path:
    """Apply the link policy to a path ``outcomes`` is about to create or open; return it.

    A dangling symlink always raises :class:`UnsafePathError`. When ``explicit`` is
    false (``outcomes`` derived the path itself), a symlink, or a path that resolves
    outside ``root``, raises too. Missing files are fine (they will be created).
    """
    target = Path(path).expanduser()
    base = None if root is None else str(Path(root).expanduser())
    check_links(str(target), base, explicit=explicit)
    return target


def ensure_home(folder: str | os.PathLike[str]) -> Path:
    """Create the managed folder ``0700`` (with missing parents) if needed; return it.

    An existing folder keeps its mode (it may not be ours). A path that exists but is not
    a folder raises :class:`UnsafePathError`.
    """
    home = Path(folder).expanduser()
    if home.is_symlink() and not home.exists():
        raise UnsafePathError(f"{home} is a dangling symlink; remove it or set OUTCOMES_HOME")
    if home.exists():
        if not home.is_dir():
            raise UnsafePathError(f"{home} exists and is not a folder; set OUTCOMES_HOME elsewhere")
        return home
    home.mkdir(parents=True, mode=DIR_MODE)
    return home


def _parent_of(target: Path) -> Path:
    parent = target.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise UnsafePathError(f"cannot write {target}: its folder {parent} {what}")
    return parent


def atomic_open(
    path: str | os.PathLike[str],
    mode: Literal["w", "wb"] = "w",
    *,
    root: str | os.PathLike[str] | None = None,
    explicit: bool = True,
) -> contextlib.AbstractContextManager[IO[Any]]:
    """Open ``path`` for an atomic rewrite; the file appears (``0600``) only if the block
    ends without an exception. The parent folder must exist (no surprise folders)."""
    return _atomic(path, mode, root=root, explicit=explicit)


@contextlib.contextmanager
def _atomic(
    path: str | os.PathLike[str],
    mode: str,
    *,
    root: str | os.PathLike[str] | None,
    explicit: bool,
) -> Iterator[IO[Any]]:
    target = check_path(path, root=root, explicit=explicit)
    encoding = None if "b" in mode else "utf-8"
    if _is_stream(target):
        with open(target, mode, encoding=encoding) as fh:
            yield fh
        return
    parent = _parent_of(target)
    import tempfile  # here, not at import: the read-only commands never write a file

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # Re-check just before the rename: a link planted meanwhile is not replaced blindly.
        check_path(target, root=root, explicit=explicit)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(parent)


def _is_stream(target: Path) -> bool:
    """Whether ``target`` (links followed) exists and is neither a regular file nor a folder."""
    try:
        kind = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(kind) or stat.S_ISDIR(kind))


def atomic_write(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    root: str | os.PathLike[str] | None = None,
    explicit: bool = True,
) -> None:
    """Atomically replace ``path`` with ``data`` (mode ``0600``); see :func:`atomic_open`."""
    with atomic_open(
        path, "wb" if isinstance(data, bytes) else "w", root=root, explicit=explicit
    ) as fh:
        fh.write(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def quarantine(path: str | os.PathLike[str]) -> Path:
    """Rename ``path`` aside to ``<name>.corrupt-<UTC time>-<random>``; return the new path.

    The random part makes names unique for files quarantined in the same second, by this
    or another process; an existing name is never overwritten. Anything but a regular file
    (a device, a pipe, a folder) raises :class:`UnsafePathError` and stays where it is.
    """
    source = Path(path)
    if not stat.S_ISREG(source.stat().st_mode):  # a link to a file is moved aside, as a file
        raise UnsafePathError(f"{source} is not a regular file; it was not moved aside")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    while True:
        import secrets  # here, not at import (it loads OpenSSL's hashing): a rare path

        aside = source.with_name(f"{source.name}.corrupt-{stamp}-{secrets.token_hex(4)}")
        if not os.path.lexists(aside):
            break
    os.rename(source, aside)
    return aside


def clean_stale_tmp(
    path: str | os.PathLike[str], *, older_than: float = STALE_TMP_SECONDS
) -> list[Path]:
    """Remove the temporary files that killed atomic saves of ``path`` left behind.

    Only regular files (never links) named ``.<name>.*.tmp``, owned by this user and not
    modified for ``older_than`` seconds are removed; returns what was removed.
    """
    target = Path(path)
    folder = target.parent
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = list(folder.glob(f".{target.name}.*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        try:
            st = tmp.lstat()
        except OSError:
            continue
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.getuid()
            or now - st.st_mtime < older_than
        ):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def mode_problem(path: Path) -> str | None:
    """Why ``path`` is not owner-only (``None`` when it is, or does not exist)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    allowed = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
    if mode & ~allowed & 0o777:
        return f"{path} has mode {oct(mode)}; expected {oct(allowed)} (owner only)"
    return None
