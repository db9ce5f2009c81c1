"""The few git questions code adoption asks, through the ``git`` command line.

Every call is read-only (``rev-parse``, ``show``, ``diff``, ``log``, ``ls-files``) and
bounded by a timeout; a repository that git cannot read raises
:class:`~outcomes.errors.ValidationError` naming the path.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from outcomes.errors import ValidationError

MAX_FILE_BYTES = 2_000_000
"""Files larger than this are not read (generated or vendored code, not a suggestion)."""

_TIMEOUT = 30.0


def _git(repo: str | Path, *args: str, check: bool = True) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            timeout=_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValidationError(f"git failed in {repo}: {exc}") from exc
    if proc.returncode != 0:
        if check:
            msg = proc.stderr.decode("utf-8", "replace").strip()
            raise ValidationError(f"git {args[0]} failed in {repo}: {msg}")
        return None
    return proc.stdout.decode("utf-8", "surrogateescape")


def repo_root(path: str | Path) -> Path:
    """The top of the work tree containing ``path``; raises ``ValidationError`` if none."""
    out = _git(path, "rev-parse", "--show-toplevel", check=False)
    if not out:
        raise ValidationError(f"{path} is not inside a git work tree")
    return Path(out.strip()).resolve()


def head(repo: Path) -> str | None:
    """The commit at HEAD, or ``None`` in a repository with no commits yet."""
    out = _git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False)
    return out.strip() if out else None


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks (honours ``core.hooksPath``)."""
    out = _git(repo, "rev-parse", "--git-path", "hooks")
    assert out is not None
    p = Path(out.strip())
    return p if p.is_absolute() else (repo / p).resolve()


def commit_time(repo: Path, commit: str) -> float | None:
    out = _git(repo, "show", "-s", "--format=%ct", commit, check=False)
    return float(out.strip()) if out and out.strip() else None


def commits_since(repo: Path, base: str | None, limit: int = 50) -> list[str]:
    """Commits reachable from HEAD and not from ``base``, newest first (at most ``limit``)."""
    rng = f"{base}..HEAD" if base else "HEAD"
    out = _git(repo, "rev-list", f"--max-count={limit}", rng, check=False)
    return out.split() if out else []


def show(repo: Path, rev: str, path: str) -> str | None:
    """The text of ``path`` at ``rev`` (``""`` + path = the index), or ``None``."""
    out = _git(repo, "cat-file", "-s", f"{rev}:{path}", check=False)
    if out is None or int(out.strip() or 0) > MAX_FILE_BYTES:
        return None
    return _git(repo, "show", f"{rev}:{path}", check=False)


def worktree(repo: Path, path: str) -> str | None:
    """The text of ``path`` in the work tree, or ``None`` (missing, too large, binary)."""
    p = repo / path
    try:
        if not p.is_file() or p.stat().st_size > MAX_FILE_BYTES:
            return None
        data = p.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Changes:
    """Paths changed since a commit: committed, staged, unstaged and untracked, plus renames."""

    paths: frozenset[str]
    renamed: dict[str, str]


def changes_since(repo: Path, base: str | None) -> Changes:
    """What changed in the work tree (and index, and commits) relative to ``base``."""
    paths: set[str] = set()
    renamed: dict[str, str] = {}
    if base:
        out = _git(repo, "diff", "--name-status", "-M", "-z", base, check=False) or ""
        fields = out.split("\x00")
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i]
            if status.startswith(("R", "C")) and i + 2 < len(fields):
                old, new = fields[i + 1], fields[i + 2]
                renamed[old] = new
                paths.add(new)
                i += 3
            elif i + 1 < len(fields):
                paths.add(fields[i + 1])
                i += 2
            else:
                break
    else:
        out = _git(repo, "ls-files", "-z", check=False) or ""
        paths.update(p for p in out.split("\x00") if p)
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", check=False) or ""
    paths.update(p for p in untracked.split("\x00") if p)
    return Changes(frozenset(paths), renamed)


def files_in_commit(repo: Path, commit: str) -> list[str]:
    out = _git(repo, "show", "--name-only", "--format=", "-z", commit, check=False) or ""
    return [p for p in out.split("\x00") if p.strip()]
