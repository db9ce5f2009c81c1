"""Code adoption measured on real code changes: standard libraries of installed Pythons,
this repository's history, and the history of public repositories in Python, JavaScript
and Go (cases rebuilt from local clones by ``benchmarks/code_cases/build_cases.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.bench_code import CLASSES, LANGUAGES, TARGET, cases, score
from benchmarks.bench_signals import evaluate_code, git_file_pairs, stdlib_dirs
from benchmarks.code_cases.build_cases import DATA, REPOS, Case, build, write

from outcomes.inference.code import structure_available


@pytest.mark.slow
def test_verdicts_on_real_stdlib_changes_meet_the_floor() -> None:
    if len(stdlib_dirs()) < 2:
        pytest.skip("needs two or more Python 3 standard libraries under /root/.pyenv/versions")
    result = evaluate_code(limit=80, seed=5, pairs=2)
    assert result.cases >= 60
    floors = {"applied": 0.95, "modified": 0.75, "ignored": 0.95}
    if not structure_available("python"):
        floors["modified"] = 0.6  # text fingerprints alone miss small renames
    for cls, floor in floors.items():
        assert result.accuracy(cls) >= floor, (cls, dict(result.confusion[cls]))
    assert result.accuracy() >= 2 * result.accuracy(reference=True)


def test_verdicts_on_this_repositorys_own_history_meet_the_floor() -> None:
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        pytest.skip("not a git clone")
    result = evaluate_code(limit=100, seed=3, files=git_file_pairs(root, 150))
    if result.skipped or result.cases < 30:
        pytest.skip(f"too little history to evaluate ({result.cases} changes)")
    for cls in ("applied", "modified", "ignored"):
        assert result.accuracy(cls) >= 0.85, (cls, dict(result.confusion[cls]))
    assert result.accuracy() >= 2 * result.accuracy(reference=True)


def _history_cases(split: str) -> list[Case]:
    """The cases of ``split``, rebuilt from local clones when they are not built yet."""
    rows = cases(split)
    if not rows:
        present = [r for r in REPOS if r.split == split and r.mirror.exists()]
        for repo in present:
            write(build(repo, repo.mirror, 80, 20), DATA / f"{repo.name.replace('/', '+')}.jsonl")
        rows = cases(split)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_verdicts_on_real_repository_history_meet_the_target(split: str) -> None:
    rows = _history_cases(split)
    if not rows:
        pytest.skip("no history cases: python -m benchmarks.code_cases.build_cases --all")
    s = score(rows)
    for lang in LANGUAGES:
        for cls in CLASSES:
            acc = s.accuracy(lang, cls)
            if acc is not None:
                assert acc >= TARGET, (split, lang, cls, dict(s.confusion[(lang, cls)]))
