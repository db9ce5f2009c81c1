"""The git post-commit hook that runs ``outcomes code check`` after every commit.

The hook is a marked block, so it can live next to whatever hook the repository already
has: installing appends the block (once), uninstalling removes only the block. A failing
check never fails the commit.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path

from outcomes.errors import ValidationError
from outcomes.inference.code import _git

BEGIN = "# >>> outcomes code check >>>"
END = "# <<< outcomes code check <<<"


def _block(db: str | None, background: bool) -> str:
    cmd = [sys.executable, "-m", "outcomes.cli", "code", "check", "--quiet"]
    if db:
        cmd += ["--db", db]
    line = " ".join(shlex.quote(c) for c in cmd) + ' --repo "$(git rev-parse --show-toplevel)"'
    run = f"({line} >/dev/null 2>&1 &)" if background else f"{line} >/dev/null 2>&1 || true"
    return f"{BEGIN}\n{run}\n{END}\n"


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".outcomes-hook-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _strip(text: str) -> str:
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if line.strip() == BEGIN:
            skipping = True
            continue
        if line.strip() == END:
            skipping = False
            continue
        if not skipping:
            out.append(line)
    return "".join(out)


def install_hook(repo: str | Path = ".", *, db: str | None = None, background: bool = True) -> Path:
    """Install (or refresh) the post-commit block in ``repo``; returns the hook's path.

    An existing hook keeps its content; a hook that is not a shell script (no ``sh``
    shebang) is left alone and :class:`~outcomes.errors.ValidationError` is raised.
    """
    root = _git.repo_root(repo)
    hooks = _git.hooks_dir(root)
    hooks.mkdir(parents=True, exist_ok=True)
    path = hooks / "post-commit"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    if existing and not existing.startswith("#!") and BEGIN not in existing:
        existing = "#!/bin/sh\n" + existing
    first = existing.splitlines()[0] if existing else ""
    if first and "sh" not in first:
        raise ValidationError(
            f"{path} is not a shell script ({first!r}); add this line to it yourself: "
            + _block(db, background).splitlines()[1]
        )
    body = _strip(existing) if existing else "#!/bin/sh\n"
    if not body.endswith("\n"):
        body += "\n"
    _write(path, body + _block(db, background))
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def uninstall_hook(repo: str | Path = ".") -> bool:
    """Remove the block from the post-commit hook; returns whether there was one."""
    root = _git.repo_root(repo)
    path = _git.hooks_dir(root) / "post-commit"
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text:
        return False
    rest = _strip(text)
    if rest.strip() in ("", "#!/bin/sh"):
        path.unlink()
    else:
        _write(path, rest)
    return True
