"""Code adoption on real repository history: accuracy per class and per language.

The cases come from ``benchmarks/code_cases/build_cases.py`` (rebuilt from local clones,
never committed: they hold the repositories' code). Each case is judged the way
:class:`~outcomes.inference.code.CodeAdoption` judges a suggestion at its TTL:
``decide(assess(fingerprint(suggestion, language, before), after, language), expired=True)``.

``python -m benchmarks.bench_code [--split dev|holdout] [--failures N]`` prints the table
(and up to N failures per class, for the dev split while developing).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from benchmarks._harness import Context
from benchmarks.code_cases.build_cases import DATA, REPOS, Case, load
from outcomes.inference.code import assess, decide, fingerprint, language_of, structure_available

CLASSES = ("applied", "modified", "ignored")
LANGUAGES = ("python", "javascript", "go")
TARGET = 0.85


@dataclass
class Scores:
    confusion: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    failures: list[tuple[Case, str]] = field(default_factory=list)
    cases: int = 0
    seconds: float = 0.0

    def accuracy(self, language: str, cls: str) -> float | None:
        row = self.confusion.get((language, cls))
        if not row:
            return None
        return row[cls] / sum(row.values())

    def count(self, language: str, cls: str) -> int:
        return sum(self.confusion.get((language, cls), Counter()).values())


def verdict(case: Case) -> str:
    """The verdict the rules give one case (``pending`` if they would still wait)."""
    lang = language_of(case.path)
    lang = lang if lang and structure_available(lang) else None
    sp = fingerprint(case.suggestion, lang, case.before)
    got = decide(assess(sp, case.after, lang), expired=True)
    return got.value if got is not None else "pending"


def cases(split: str) -> list[Case]:
    out: list[Case] = []
    for repo in REPOS:
        path = DATA / f"{repo.name.replace('/', '+')}.jsonl"
        if repo.split == split and path.exists():
            out.extend(load(path))
    return out


def score(rows: list[Case]) -> Scores:
    s = Scores()
    t0 = time.perf_counter()
    for case in rows:
        got = verdict(case)
        s.confusion.setdefault((case.language, case.label), Counter())[got] += 1
        s.cases += 1
        if got != case.label:
            s.failures.append((case, got))
    s.seconds = time.perf_counter() - t0
    return s


def table(s: Scores) -> str:
    lines = [f"{'language':<11} " + " ".join(f"{c:>16}" for c in CLASSES)]
    for lang in LANGUAGES:
        cells = []
        for cls in CLASSES:
            acc = s.accuracy(lang, cls)
            cells.append(f"{'-' if acc is None else f'{acc:6.1%}'} of {s.count(lang, cls):>4}")
        lines.append(f"{lang:<11} " + " ".join(f"{c:>16}" for c in cells))
    for (lang, cls), row in sorted(s.confusion.items()):
        lines.append(f"  {lang}/{cls}: {dict(row)}")
    return "\n".join(lines)


def timing(rows: list[Case]) -> tuple[float, float]:
    """Seconds per case to assess and decide: line-sequence rules, shares alone (same run).

    Shares alone are the rules for suggestions stored before the sequence was kept: the
    same prints without their sequence and filter, so the ratio is the sequence's cost.
    """
    prints = []
    for case in rows:
        lang = language_of(case.path)
        lang = lang if lang and structure_available(lang) else None
        sp = fingerprint(case.suggestion, lang, case.before)
        prints.append((sp, replace(sp, sequence=(), baseline=None), case.after, lang))
    new = old = 0.0
    for sp, bare, after, lang in prints:
        t0 = time.perf_counter()
        decide(assess(sp, after, lang), expired=True)
        t1 = time.perf_counter()
        decide(assess(bare, after, lang), expired=True)
        new, old = new + (t1 - t0), old + (time.perf_counter() - t1)
    return new / len(prints), old / len(prints)


def run(ctx: Context) -> None:
    rows = cases("dev")
    if rows:
        new, old = timing(rows[:: 8 if ctx.quick else 1])
        ctx.report(
            "code assess+decide per case (line sequence)",
            new * 1e3,
            "ms",
            reference_name="shares alone",
            reference_value=old * 1e3,
        )
    for split in ("dev", "holdout"):
        rows = cases(split)
        if not rows:
            ctx.report(
                f"code adoption, {split} history cases",
                0.0,
                "skipped",
                passed=None,
                notes="build them: python -m benchmarks.code_cases.build_cases --all",
            )
            continue
        s = score(rows)
        for lang in LANGUAGES:
            for cls in CLASSES:
                acc = s.accuracy(lang, cls)
                if acc is None:
                    continue
                ctx.report(
                    f"code {cls}, {lang}, {split} ({s.count(lang, cls)} cases)",
                    acc,
                    "share",
                    target=f">= {TARGET}",
                    passed=acc >= TARGET,
                )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_code")
    p.add_argument("--split", default="dev")
    p.add_argument("--failures", type=int, default=0)
    p.add_argument("--language")
    p.add_argument("--kind")
    args = p.parse_args(argv)
    rows = cases(args.split)
    if args.language:
        rows = [c for c in rows if c.language == args.language]
    s = score(rows)
    print(f"{args.split}: {s.cases} cases in {s.seconds:.1f} s")
    print(table(s))
    kinds: Counter[tuple[str, bool]] = Counter()
    for c in rows:
        kinds[(c.kind, c not in [f for f, _ in s.failures])] += 1
    print("by kind (right/wrong):", {k: (kinds[(k, True)], kinds[(k, False)]) for k, _ in kinds})
    shown: Counter[str] = Counter()
    for case, got in s.failures:
        if args.kind and case.kind != args.kind:
            continue
        if shown[case.label] >= args.failures:
            continue
        shown[case.label] += 1
        print(f"\n=== {case.id} truth={case.label} got={got}")
        print(case.suggestion[:1500])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
