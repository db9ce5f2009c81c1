"""Rebuild code-adoption cases from the real history of a local git clone.

Each case is a suggestion, the file before it was made and the file that came out, with
a label taken mechanically from what the history did (never from the rules under test):

* ``applied`` (kind ``hunk``): a run of lines one commit added to a file, offered as the
  suggestion just before that commit; the outcome is the file at the commit.
* ``modified``, kind ``edited``: lines one commit added and a later commit edited (some
  of them changed, removed or interleaved with new lines, not all removed); the
  suggestion is the first version, the outcome the file after the edit, the baseline the
  file before the first commit.
* ``modified``, kind ``perturbed-constant`` / ``perturbed-rename`` / ``perturbed-line``:
  an ``applied`` case whose suggestion differs from what was committed by one number or
  string literal, by one identifier renamed throughout, or by one missing line (the human
  wrote that line next to the suggestion).
* ``ignored``, kind ``cross-file``: lines a commit added to another file of the same
  language, offered for this file; ``future``: lines a later commit added to this very
  file, offered before an earlier commit of it. Either way the outcome is the file at the
  earlier commit, which holds none of the suggestion's lines that the file lacked before
  (whitespace aside).

Usage (the clone may be bare, e.g. a mirror)::

    python -m benchmarks.code_cases.build_cases --all          # every repository in REPOS
    python -m benchmarks.code_cases.build_cases GITDIR --name owner/repo --split dev \
        --licence MIT --language python --out cases.jsonl

Output: JSON lines with ``id``, ``repo``, ``licence``, ``split``, ``language``, ``path``,
``label``, ``kind``, ``commit`` (and ``edit_commit``), ``suggestion``, ``before``,
``after``. The cases hold code from the repository: they are written under ``data/``
(ignored by git) and rebuilt from the clone, never committed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MIRRORS = Path("/work/.mirror")

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": (".py",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".tsx"),
    "go": (".go",),
}
MAX_FILE_CHARS = 60_000
MIN_LINES = 2
MAX_LINES = 60
LOOKAHEAD = 40
"""Later commits of a file searched for the edit of a hunk (``edited`` cases)."""

_SKIP_PATH = re.compile(r"(^|/)(vendor|dist|build|node_modules|third_party)/|\.min\.js$")
_TRIVIAL = re.compile(r"^[\s{}()\[\];,]*$|^\s*(#|//|/\*|\*)")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_STRING = re.compile(r"\"([^\"\\\n]{1,40})\"|'([^'\\\n]{1,40})'")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")
_KEYWORDS = frozenset(
    """
    and as assert async await break class continue def del elif else except finally for from
    global if import in is lambda nonlocal not or pass raise return try while with yield
    None True False self cls const let var function new this typeof instanceof delete void
    case default switch catch throw export extends super static get set null undefined true
    false func package type struct interface map chan range defer select fallthrough goto
    nil string int bool error byte rune float64 int64 uint len make append print
    """.split()  # noqa: SIM905 (one word list for three languages reads best as text)
)


@dataclass(frozen=True, slots=True)
class Repo:
    """A repository the cases come from: where its clone is and what its licence is."""

    name: str
    licence: str
    language: str
    split: str

    @property
    def mirror(self) -> Path:
        return MIRRORS / self.name.replace("/", "+") / "repo"


REPOS: tuple[Repo, ...] = (
    # dev: the rules were developed on these.
    Repo("python-attrs/attrs", "MIT", "python", "dev"),
    Repo("sindresorhus/ky", "MIT", "javascript", "dev"),
    Repo("spf13/cobra", "Apache-2.0", "go", "dev"),
    # holdout: scored once, at the end.
    Repo("encode/httpx", "BSD-3-Clause", "python", "holdout"),
    Repo("expressjs/express", "MIT", "javascript", "holdout"),
    Repo("go-chi/chi", "MIT", "go", "holdout"),
)


@dataclass
class Case:
    id: str
    repo: str
    licence: str
    split: str
    language: str
    path: str
    label: str
    kind: str
    commit: str
    suggestion: str
    before: str
    after: str
    edit_commit: str | None = None


@dataclass(frozen=True, slots=True)
class Hunk:
    """Lines a commit added to a file: their text and where they sit in the new file."""

    commit: str
    path: str
    start: int
    """0-based index of the first added line in the file at ``commit``."""
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.lines)


@dataclass
class History:
    """The commits of one repository that changed files of one language, oldest first."""

    git: Path
    exts: tuple[str, ...]
    commits: list[str] = field(default_factory=list)
    hunks: dict[str, list[Hunk]] = field(default_factory=dict)
    file_commits: dict[str, list[str]] = field(default_factory=dict)


class Git:
    """A read-only git reader with one long-lived ``cat-file --batch`` process."""

    def __init__(self, git: Path) -> None:
        self.git = git
        self._cat = subprocess.Popen(
            ["git", "--git-dir", str(git), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["git", "--git-dir", str(self.git), *args], capture_output=True, check=False
        )
        return out.stdout.decode("utf-8", "replace")

    def blob(self, rev: str, path: str) -> str | None:
        assert self._cat.stdin is not None
        assert self._cat.stdout is not None
        self._cat.stdin.write(f"{rev}:{path}\n".encode())
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            return None
        data = self._cat.stdout.read(int(header[2]) + 1)[:-1]
        if b"\x00" in data[:4096]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def close(self) -> None:
        if self._cat.stdin is not None:
            self._cat.stdin.close()
        self._cat.wait(timeout=10)


def _wanted(path: str, exts: tuple[str, ...]) -> bool:
    return path.endswith(exts) and not _SKIP_PATH.search(path) and not path.endswith(".d.ts")


def _parse_diff(commit: str, diff: str, exts: tuple[str, ...]) -> Iterator[Hunk]:
    path: str | None = None
    start = 0
    added: list[str] = []

    def flush() -> Iterator[Hunk]:
        if path is not None and added:
            yield Hunk(commit, path, start, tuple(added))

    for line in diff.splitlines(keepends=True):
        if line.startswith("+++ "):
            yield from flush()
            added = []
            name = line[4:].rstrip("\n")
            path = name[2:] if name.startswith("b/") and _wanted(name[2:], exts) else None
        elif line.startswith("@@"):
            yield from flush()
            added = []
            m = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", line)
            start = int(m.group(1)) - 1 if m else 0
            if m and m.group(2) == "0":
                start += 1
        elif line.startswith("+") and path is not None:
            added.append(line[1:] if line.endswith("\n") else line[1:] + "\n")
    yield from flush()


def history(git: Git, exts: tuple[str, ...], max_commits: int = 1500) -> History:
    """Every non-merge first-parent commit (oldest first) and the hunks it added."""
    h = History(git.git, exts)
    log = git.run("rev-list", "--first-parent", "--no-merges", "--reverse", "HEAD")
    h.commits = log.split()[-max_commits:]
    for commit in h.commits:
        diff = git.run(
            "show",
            "--format=",
            "-U0",
            "--no-renames",
            "--no-color",
            "--diff-algorithm=histogram",
            commit,
        )
        hunks = list(_parse_diff(commit, diff, exts))
        h.hunks[commit] = hunks
        for path in {k.path for k in hunks}:
            h.file_commits.setdefault(path, []).append(commit)
        for line in diff.splitlines():
            if line.startswith("--- a/") and _wanted(line[6:], exts):
                h.file_commits.setdefault(line[6:], [])
                if commit not in h.file_commits[line[6:]]:
                    h.file_commits[line[6:]].append(commit)
    return h


def nontrivial(lines: tuple[str, ...] | list[str]) -> list[str]:
    return [ln for ln in lines if not _TRIVIAL.match(ln) and len(ln.strip()) >= 3]


def _usable(hunk: Hunk) -> bool:
    n = len(nontrivial(hunk.lines))
    return n >= MIN_LINES and len(hunk.lines) <= MAX_LINES


def _files(git: Git, hunk: Hunk) -> tuple[str, str] | None:
    before = git.blob(f"{hunk.commit}^", hunk.path)
    after = git.blob(hunk.commit, hunk.path)
    if before is None or after is None:
        return None  # a new file: nothing to place the suggestion in before it
    if len(before) > MAX_FILE_CHARS or len(after) > MAX_FILE_CHARS:
        return None
    return before, after


_TOKEN = re.compile(r"\w+|\S")


def _stream(text: str) -> str:
    """The text's tokens joined: equal for two texts that differ only in whitespace."""
    return "\x1f" + "\x1f".join(_TOKEN.findall(text)) + "\x1f"


def _edited(git: Git, h: History, hunk: Hunk) -> tuple[str, str] | None:
    """The first later commit that edits ``hunk``'s block and keeps part of it.

    An edit changes the block's tokens (whitespace and line breaks do not count: a
    reformatted block is the same code).
    """
    block = _stream(hunk.text)
    later = h.file_commits.get(hunk.path, [])
    try:
        i = later.index(hunk.commit)
    except ValueError:
        return None
    for commit in later[i + 1 : i + 1 + LOOKAHEAD]:
        text = git.blob(commit, hunk.path)
        if text is None or len(text) > MAX_FILE_CHARS:
            return None
        if block in _stream(text):
            continue
        kept = {ln.strip() for ln in text.splitlines()}
        survivors = [ln for ln in nontrivial(hunk.lines) if ln.strip() in kept]
        if survivors:
            return commit, text
        return None  # the block was removed whole: not an edit
    return None


def perturb(text: str, kind: str, rng: random.Random, old: set[str]) -> str | None:
    """``text`` with one documented change to one of its novel lines (not in ``old``,
    the file before, whitespace aside), or ``None`` when it offers none of that kind."""
    lines = text.splitlines(keepends=True)
    candidates = [
        i for i, ln in enumerate(lines) if nontrivial([ln]) and " ".join(ln.split()) not in old
    ]
    if kind == "constant":
        spots = [(i, m) for i in candidates for m in _NUMBER.finditer(lines[i]) if m.group() != "0"]
        spots += [(i, m) for i in candidates for m in _STRING.finditer(lines[i])]
        if not spots:
            return None
        i, m = rng.choice(spots)
        old = m.group()
        if old[0] in "\"'":
            new = old[0] + old[1:-1] + "_x" + old[-1]
        else:
            new = str(int(float(old)) + 1) if "." not in old else old + "5"
        lines[i] = lines[i][: m.start()] + new + lines[i][m.end() :]
        return "".join(lines)
    if kind == "rename":
        names = sorted(
            {w for i in candidates for w in _IDENT.findall(lines[i]) if w not in _KEYWORDS}
        )
        # Renaming a name throughout must change a novel line, and nothing else matters.
        if not names:
            return None
        victim = rng.choice(names)
        new = victim + "Value" if victim[:1].islower() and "_" not in victim else victim + "_new"
        return re.sub(rf"\b{re.escape(victim)}\b", new, text)
    if kind == "line":
        if len(candidates) < 3:
            return None
        del lines[rng.choice(candidates)]
        return "".join(lines)
    raise ValueError(kind)


def build(repo: Repo, git_dir: Path, per_class: int, seed: int) -> list[Case]:
    """About ``per_class`` cases of each label from ``git_dir``'s history."""
    git = Git(git_dir)
    try:
        return _build(repo, git, per_class, seed)
    finally:
        git.close()


def _case(
    repo: Repo,
    hunk: Hunk,
    label: str,
    kind: str,
    sug: str,
    before: str,
    after: str,
    edit: str | None = None,
) -> Case:
    cid = f"{repo.name}@{hunk.commit[:10]}:{hunk.path}:{hunk.start}:{kind}"
    return Case(
        cid,
        repo.name,
        repo.licence,
        repo.split,
        repo.language,
        hunk.path,
        label,
        kind,
        hunk.commit,
        sug,
        before,
        after,
        edit,
    )


def _build(repo: Repo, git: Git, per_class: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    h = history(git, EXTENSIONS[repo.language])
    pool = [k for c in h.commits for k in h.hunks[c] if _usable(k)]
    rng.shuffle(pool)
    applied: list[Case] = []
    modified: list[Case] = []
    ignored: list[Case] = []
    half = per_class // 2
    kinds = ("constant", "rename", "line")
    used_files: dict[str, int] = {}
    for n, hunk in enumerate(pool):
        if len(applied) >= per_class and len(modified) >= per_class and len(ignored) >= per_class:
            break
        # Spread the cases over the files rather than one busy file's many commits.
        if used_files.get(hunk.path, 0) >= 6:
            continue
        files = _files(git, hunk)
        if files is None:
            continue
        before, after = files
        old = {" ".join(ln.split()) for ln in before.splitlines()}
        if all(" ".join(ln.split()) in old for ln in nontrivial(hunk.lines)):
            continue  # every line was already in the file (a move): nothing novel to find
        used_files[hunk.path] = used_files.get(hunk.path, 0) + 1
        if len(applied) < per_class:
            applied.append(_case(repo, hunk, "applied", "hunk", hunk.text, before, after))
        edited = [c for c in modified if c.kind == "edited"]
        if len(edited) < half:
            found = _edited(git, h, hunk)
            if found is not None:
                modified.append(
                    _case(repo, hunk, "modified", "edited", hunk.text, before, found[1], found[0])
                )
                continue
        if len(modified) < per_class and n % 2 == 0:
            first = len(modified) % len(kinds)
            for kind in kinds[first:] + kinds[:first]:
                sug = perturb(hunk.text, kind, rng, old)
                if sug is not None and sug != hunk.text:
                    break
            if sug is not None and sug != hunk.text:
                modified.append(
                    _case(repo, hunk, "modified", f"perturbed-{kind}", sug, before, after)
                )
                continue
        if len(ignored) < per_class:
            ign = _ignored(git, h, hunk, pool, rng, future=len(ignored) % 2 == 0)
            if ign is not None:
                sug, kind = ign
                ignored.append(_case(repo, hunk, "ignored", kind, sug, before, after))
    return applied + modified + ignored


def _ignored(
    git: Git, h: History, hunk: Hunk, pool: list[Hunk], rng: random.Random, *, future: bool
) -> tuple[str, str] | None:
    after = git.blob(hunk.commit, hunk.path) or ""
    if future:
        commits = h.file_commits.get(hunk.path, [])
        later = commits[commits.index(hunk.commit) + 1 :] if hunk.commit in commits else []
        options = [k for c in later for k in h.hunks.get(c, []) if k.path == hunk.path]
        options = [k for k in options if _usable(k)]
        kind = "future"
    else:
        options = [k for k in rng.sample(pool, min(len(pool), 40)) if k.path != hunk.path]
        kind = "cross-file"
    rng.shuffle(options)
    before = _norms(git.blob(f"{hunk.commit}^", hunk.path) or "")
    now = _norms(after)
    for other in options[:10]:
        # Never entered the file: none of its lines that the file lacked came in.
        if not any(ln in now and ln not in before for ln in _norms(other.text)):
            return other.text, kind
    return None


def _norms(text: str) -> set[str]:
    return {" ".join(ln.split()) for ln in nontrivial(text.splitlines())}


def write(cases: list[Case], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")


def load(path: Path) -> list[Case]:
    return [Case(**json.loads(ln)) for ln in path.read_text(encoding="utf-8").splitlines() if ln]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.code_cases.build_cases")
    p.add_argument("git", nargs="?", type=Path, help="a git directory (bare or .git)")
    p.add_argument("--all", action="store_true", help="every repository in REPOS, from mirrors")
    p.add_argument("--name")
    p.add_argument("--licence")
    p.add_argument("--language", choices=sorted(EXTENSIONS))
    p.add_argument("--split", default="dev")
    p.add_argument("--out", type=Path)
    p.add_argument("--per-class", type=int, default=80)
    p.add_argument("--seed", type=int, default=20)
    args = p.parse_args(argv)
    if args.all:
        jobs = [(r, r.mirror, DATA / f"{r.name.replace('/', '+')}.jsonl") for r in REPOS]
    else:
        if not (args.git and args.name and args.licence and args.language and args.out):
            p.error("give GIT --name --licence --language --out, or --all")
        jobs = [(Repo(args.name, args.licence, args.language, args.split), args.git, args.out)]
    for repo, git_dir, out in jobs:
        if not git_dir.exists():
            print(f"skip {repo.name}: no clone at {git_dir}", file=sys.stderr)
            continue
        cases = build(repo, git_dir, args.per_class, args.seed)
        write(cases, out)
        counts = {
            lbl: sum(c.label == lbl for c in cases) for lbl in ("applied", "modified", "ignored")
        }
        print(f"{repo.name} ({repo.split}): {counts} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
