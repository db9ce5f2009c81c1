"""How good are the outcome signals? Code adoption and conversation follow-ups, measured.

Code adoption runs on real code changes: the standard library of every Python 3 version
installed under pyenv (``/root/.pyenv/versions/3.*``) is the same files changed by real
commits between releases. For each function that changed between two consecutive
versions, the later version's function is the suggestion and the earlier file the
baseline, then three candidates are judged:

* ``applied``: the later release's file (the change really landed);
* ``modified``: the earlier file with a perturbed copy of the suggestion (about a third
  of its lines dropped, identifiers renamed in others);
* ``ignored``: the earlier file plus an unrelated function from another module.

The reference is the seed's text check, repaired to read the suggestion rather than the
routing reason: ``applied`` when any word longer than five characters of the suggestion
appears in the candidate's new lines, else ``modified`` (it never says ``ignored``).

Conversation follow-ups run on ``tests/inference/data/conversation_followups.jsonl``
against a majority-class reference (always ``accepted``).
"""

from __future__ import annotations

import ast
import itertools
import json
import random
import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._harness import Context
from outcomes.inference.code import assess, decide, fingerprint, structure_available
from outcomes.inference.conversation import FollowUp, RuleClassifier, evaluate
from outcomes.records import CodeVerdict
from outcomes.records import ConversationVerdict as V

PYENV = Path("/root/.pyenv/versions")
DATA = Path(__file__).resolve().parents[1] / "tests" / "inference" / "data"
CLASSES = ("applied", "modified", "ignored")
_IDENT = re.compile(r"\b[a-z_][a-z0-9_]{2,}\b")


def stdlib_dirs() -> list[Path]:
    """Standard-library folders of the installed Python 3 versions, oldest first."""
    found = []
    for d in PYENV.glob("3.*/lib/python3.*"):
        if d.is_dir() and (d / "os.py").exists():
            found.append(d)

    def key(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in p.name.removeprefix("python").split("."))

    return sorted(found, key=key)


def _functions(text: str) -> dict[str, str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    lines = text.splitlines(keepends=True)
    out: dict[str, str] = {}
    for node in tree.body:
        targets: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            targets.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            targets.extend(
                (f"{node.name}.{sub.name}", sub)
                for sub in node.body
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        for name, fn in targets:
            start = min([fn.lineno] + [d.lineno for d in getattr(fn, "decorator_list", [])])
            end = getattr(fn, "end_lineno", None) or start
            if end - start >= 3:
                out[name] = "".join(lines[start - 1 : end])
    return out


@dataclass(frozen=True, slots=True)
class Change:
    module: str
    name: str
    old_file: str
    new_file: str
    old_fn: str | None
    new_fn: str


def stdlib_file_pairs(pairs: int | None = None) -> Iterator[tuple[str, str, str]]:
    """(module, earlier text, later text) of stdlib files that differ between versions.

    ``pairs`` keeps only the newest consecutive version pairs (fewer files to parse).
    """
    version_pairs = list(itertools.pairwise(stdlib_dirs()))
    for a, b in version_pairs[-pairs:] if pairs else version_pairs:
        for path in sorted(b.glob("*.py")):
            old_path = a / path.name
            if not old_path.exists():
                continue
            old, new = old_path.read_text("utf-8", "replace"), path.read_text("utf-8", "replace")
            if old != new:
                yield path.stem, old, new


def _git_out(repo: Path, *args: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def git_file_pairs(repo: Path, max_commits: int = 400) -> Iterator[tuple[str, str, str]]:
    """(path, parent text, commit text) of Python files changed by each commit of ``repo``."""
    log = _git_out(repo, "log", f"--max-count={max_commits}", "--no-merges", "--format=%H") or ""
    for commit in log.split():
        names = _git_out(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", commit)
        for name in (names or "").split("\n"):
            if not name.endswith(".py"):
                continue
            new = _git_out(repo, "show", f"{commit}:{name}")
            if new is None:
                continue
            old = _git_out(repo, "show", f"{commit}^:{name}") or ""
            if old != new:
                yield name, old, new


def changes(
    limit: int,
    rng: random.Random,
    *,
    pairs: int | None = None,
    files: Iterable[tuple[str, str, str]] | None = None,
) -> list[Change]:
    """Functions changed between two versions of a file (sampled, at most 3 per module).

    ``files`` gives the (module, earlier, later) texts; default: the standard libraries.
    """
    found: list[Change] = []
    for module, old, new in files if files is not None else stdlib_file_pairs(pairs):
        fo, fn = _functions(old), _functions(new)
        for name, seg in fn.items():
            if fo.get(name) != seg:
                found.append(Change(module, name, old, new, fo.get(name), seg))
    rng.shuffle(found)
    # Spread the sample over modules rather than taking one huge module's many edits.
    per_module: Counter[str] = Counter()
    picked = []
    for c in found:
        if per_module[c.module] >= 3:
            continue
        per_module[c.module] += 1
        picked.append(c)
        if len(picked) >= limit:
            break
    return picked


def perturb(code: str, baseline: str, rng: random.Random) -> str:
    """Change the novel part of ``code``: drop about a third of the lines that are not in
    ``baseline`` and rename an identifier in some of the others (at least one line changes).
    """
    known = {ln.strip() for ln in baseline.splitlines()}
    lines = code.splitlines()
    out = [lines[0]]
    touched = False
    for original in lines[1:]:
        line = original
        novel = line.strip() and line.strip() not in known
        if novel and rng.random() < 0.35:
            touched = True
            continue
        idents = _IDENT.findall(line)
        if novel and idents and (rng.random() < 0.3 or not touched):
            victim = rng.choice(idents)
            line = re.sub(rf"\b{victim}\b", victim + "_v2", line)
            touched = True
        out.append(line)
    return "\n".join(out) + "\n"


def seed_style(suggestion: str, baseline: str, candidate: str) -> CodeVerdict:
    """The seed's text fallback, pointed at the suggestion instead of the routing reason."""
    before = set(baseline.splitlines())
    added = "\n".join(ln for ln in candidate.splitlines() if ln not in before)
    words = [w for w in re.findall(r"\w+", suggestion) if len(w) > 5]
    return CodeVerdict.APPLIED if any(w in added for w in words) else CodeVerdict.MODIFIED


@dataclass
class CodeEval:
    cases: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    reference: dict[str, Counter[str]] = field(default_factory=dict)
    skipped: str = ""

    def accuracy(self, cls: str | None = None, *, reference: bool = False) -> float:
        table = self.reference if reference else self.confusion
        rows = [cls] if cls else list(table)
        total = sum(sum(table[r].values()) for r in rows if r in table)
        right = sum(table[r][r] for r in rows if r in table)
        return right / total if total else 0.0


def _candidates(c: Change, other: str, rng: random.Random) -> Iterator[tuple[str, str]]:
    yield "applied", c.new_file
    modified = perturb(c.new_fn, c.old_file, rng)
    if c.old_fn is not None and c.old_fn in c.old_file:
        yield "modified", c.old_file.replace(c.old_fn, modified, 1)
    else:
        yield "modified", c.old_file + "\n\n" + modified
    yield "ignored", c.old_file + "\n\n" + other


def evaluate_code(
    limit: int = 300,
    seed: int = 11,
    *,
    pairs: int | None = None,
    files: Iterable[tuple[str, str, str]] | None = None,
) -> CodeEval:
    """Run the code-adoption evaluation on up to ``limit`` real changes.

    ``files`` are (module, earlier, later) texts; default: the installed standard libraries.
    """
    result = CodeEval()
    if files is None and len(stdlib_dirs()) < 2:
        result.skipped = f"fewer than two Python 3 standard libraries under {PYENV}"
        return result
    rng = random.Random(seed)
    picked = changes(limit, rng, pairs=pairs, files=files)
    if len(picked) < 2:
        result.skipped = "fewer than two changed functions in the corpus"
        return result
    lang = "python" if structure_available("python") else None
    for i, c in enumerate(picked):
        other = picked[(i + len(picked) // 2) % len(picked)]
        if other.module == c.module:
            continue
        sp = fingerprint(c.new_fn, lang, c.old_file)
        if not sp.lines and not sp.shingles:
            continue  # the change was whitespace or comments only: nothing novel to find
        result.cases += 1
        for truth, text in _candidates(c, other.new_fn, rng):
            got = decide(assess(sp, text, lang), expired=True)
            result.confusion.setdefault(truth, Counter())[got.value if got else "pending"] += 1
            ref = seed_style(c.new_fn, c.old_file, text)
            result.reference.setdefault(truth, Counter())[ref.value] += 1
    return result


def evaluate_conversation() -> dict[str, dict[str, float]]:
    path = DATA / "conversation_followups.jsonl"
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]
    out: dict[str, dict[str, float]] = {}
    for split in ("dev", "holdout", "fresh"):
        ex = [
            (FollowUp(r["question"], r["response"], r["next"], r["after"]), V(r["label"]))
            for r in rows
            if r["split"] == split
        ]
        ev = evaluate(RuleClassifier(), ex)
        majority = sum(t is V.ACCEPTED for _, t in ex) / len(ex)
        out[split] = {
            "n": ev.total,
            "accuracy": ev.accuracy,
            "committed_precision": ev.committed_precision(),
            "majority": majority,
        }
        out[split + "_confusion"] = {
            f"{t}->{p}": float(n) for t, r in ev.confusion.items() for p, n in r.items()
        }
    return out


def run(ctx: Context) -> None:
    code = evaluate_code(limit=60 if ctx.quick else 400, pairs=2 if ctx.quick else None)
    if code.skipped:
        ctx.report("code adoption", 0.0, "skipped", target=code.skipped, passed=None)
    else:
        for cls in CLASSES:
            ctx.report(
                f"code {cls} accuracy ({code.cases} real changes)",
                code.accuracy(cls),
                "share",
                reference_name="seed-style text check",
                reference_value=code.accuracy(cls, reference=True),
                target=">= 0.80",
                passed=code.accuracy(cls) >= 0.80,
            )
        ctx.report(
            "code overall accuracy",
            code.accuracy(),
            "share",
            reference_name="seed-style text check",
            reference_value=code.accuracy(reference=True),
            target=">= 1.5x reference",
            passed=code.accuracy() >= 1.5 * code.accuracy(reference=True),
        )
    root = Path(__file__).resolve().parents[1]
    history = evaluate_code(
        limit=40 if ctx.quick else 300, files=git_file_pairs(root, 60 if ctx.quick else 400)
    )
    if history.skipped:
        ctx.report("code adoption, this repository's history", 0.0, "skipped", passed=None)
    else:
        for cls in CLASSES:
            ctx.report(
                f"code {cls} accuracy, own git history ({history.cases} changes)",
                history.accuracy(cls),
                "share",
                reference_name="seed-style text check",
                reference_value=history.accuracy(cls, reference=True),
                target=">= 0.75",
                passed=history.accuracy(cls) >= 0.75,
            )
    conv = evaluate_conversation()
    for split in ("dev", "holdout", "fresh"):
        ctx.report(
            f"conversation {split} accuracy (n={int(conv[split]['n'])})",
            conv[split]["accuracy"],
            "share",
            reference_name="always 'accepted'",
            reference_value=conv[split]["majority"],
            target=">= 0.70",
            passed=conv[split]["accuracy"] >= 0.70,
        )
