"""Code adoption on real git repositories: each verdict, per suggestion, idempotent."""

from __future__ import annotations

import pytest

from outcomes.inference.code import CodeAdoption, CodeSuggestion, ListSink, structure_available
from outcomes.store import Store
from outcomes.testing import FakeClock
from tests.inference.code.conftest import Repo

BASE = """import math


def area(r):
    return math.pi * r * r


class Greeter:
    def hello(self, name):
        return "hi " + name
"""

NEW_FUNC = '''def circumference(radius):
    """Length of the circle's border."""
    doubled = 2 * radius
    return math.pi * doubled
'''

needs_ts = pytest.mark.skipif(
    not structure_available("python"), reason="tree-sitter extra 'code' not installed"
)


def suggest_on_base(repo: Repo, adoption: CodeAdoption) -> None:
    """Commit ``BASE`` as ``geo.py``, then suggest ``NEW_FUNC`` into it as trace ``t1``."""
    repo.write("geo.py", BASE)
    repo.commit("base")
    adoption.suggest("t1", "geo.py", NEW_FUNC, repo=repo.root)


def verdicts(sink: ListSink, kind: str = "code") -> dict[str, str]:
    return {s.trace_id: s.verdict for s in sink.signals if s.kind == kind}


def symbol_verdicts(sink: ListSink) -> set[tuple[str, str, str | None]]:
    return {(s.trace_id, s.verdict, s.detail) for s in sink.signals if s.kind == "code.symbol"}


def test_suggestion_stores_only_hashes_never_the_code(repo: Repo, adoption: CodeAdoption) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    s = adoption.suggest("t1", "geo.py", NEW_FUNC, repo=repo.root)
    stored = next(iter(adoption.suggestions()))
    assert stored == s
    blob = repr(stored)
    for fragment in ("circumference", "doubled", "Length of the circle", "math.pi"):
        assert fragment not in blob.replace("'name': 'circumference'", "")
    assert {d["name"] for d in stored.symbols} <= {"circumference"}
    assert all(len(h) == 16 for h in stored.lines + stored.shingles)


def test_applied_when_the_suggestion_is_committed(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    assert adoption.check(repo.root).pending == 1
    repo.write("geo.py", BASE + "\n\n" + NEW_FUNC)
    repo.commit("add circumference")
    report = adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}
    assert report.pending == 0
    if structure_available("python"):
        assert ("t1", "symbol_added", "geo.py::circumference") in symbol_verdicts(sink)


def test_checking_twice_never_counts_twice(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC)
    first = adoption.check(repo.root)
    second = adoption.check(repo.root)
    assert first.findings
    assert second.findings == ()
    assert len({s.signal_id for s in sink.signals}) == len(sink.signals)


def test_applied_in_the_work_tree_before_any_commit(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC)
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}


def test_reformatted_code_still_reads_applied(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    repo.write("util.py", "X = 1\n")
    repo.commit("base")
    code = (
        "def scale(values, factor, offset):\n"
        "    return [v * factor + offset for v in values if v is not None]\n"
    )
    adoption.suggest("t1", "util.py", code, repo=repo.root)
    reformatted = (
        "X = 1\n\n\ndef scale(\n    values,\n    factor,\n    offset,\n):\n"
        "    return [\n        v * factor + offset\n        for v in values\n"
        "        if v is not None\n    ]\n"
    )
    repo.write("util.py", reformatted)
    repo.commit("reformat")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}


def test_partial_adoption_reads_modified_once_committed(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    code = (
        "def stats(xs):\n    total = sum(xs)\n    count = len(xs)\n    mean = total / count\n"
        "    spread = max(xs) - min(xs)\n    middle = sorted(xs)[count // 2]\n"
        "    return mean, spread, middle\n"
    )
    adoption.suggest("t1", "geo.py", code, repo=repo.root)
    partial = (
        "def stats(xs):\n    total = sum(xs)\n    count = len(xs)\n    mean = total / count\n"
        "    return mean\n"
    )
    repo.write("geo.py", BASE + partial)
    report = adoption.check(repo.root)
    assert verdicts(sink) == {}, "partial work in the work tree is provisional"
    assert report.provisional
    repo.commit("stats, simplified")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "modified"}


def test_ignored_only_after_the_ttl(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + "\n\ndef unrelated():\n    return 42\n")
    repo.commit("something else")
    adoption.check(repo.root)
    assert verdicts(sink) == {}
    clock.advance(3601)
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "ignored"}


def test_renamed_file_is_followed(repo: Repo, adoption: CodeAdoption, sink: ListSink) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC)
    repo.git("mv", "geo.py", "geometry.py")
    repo.commit("add and rename")
    report = adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}
    assert report.findings[0].path == "geometry.py"


def test_code_moved_to_another_file_is_found(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("circles.py", "import math\n\n" + NEW_FUNC)
    repo.commit("new module")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}


def test_several_suggestions_in_one_file_get_their_own_verdicts(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    adoption.suggest("taken", "geo.py", NEW_FUNC, repo=repo.root)
    adoption.suggest(
        "edited",
        "geo.py",
        "class Greeter:\n    def hello(self, name):\n        cleaned = name.strip().title()\n"
        "        return 'hello, ' + cleaned\n",
        repo=repo.root,
    )
    adoption.suggest(
        "dropped",
        "geo.py",
        "def volume(r, h):\n    base = area(r)\n    return base * h\n",
        repo=repo.root,
    )
    edited = BASE.replace(
        '        return "hi " + name\n',
        "        cleaned = name.strip()\n        return 'hello, ' + cleaned\n",
    )
    repo.write("geo.py", edited + "\n\n" + NEW_FUNC)
    repo.commit("two of three")
    clock.advance(3601)
    adoption.check(repo.root)
    assert verdicts(sink) == {"taken": "applied", "edited": "modified", "dropped": "ignored"}
    if structure_available("python"):
        syms = symbol_verdicts(sink)
        assert ("edited", "body_modified", "geo.py::Greeter.hello") in syms
        assert ("taken", "symbol_added", "geo.py::circumference") in syms
        assert not any(t == "dropped" for t, _, _ in syms), "no repository-wide verdict"


@needs_ts
def test_signature_change_is_attributed_to_the_suggested_symbol(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC.replace("(radius)", "(radius, scale=1)"))
    repo.commit("with a scale")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "modified"}, "the same symbol, changed differently"
    assert ("t1", "signature_changed", "geo.py::circumference") in symbol_verdicts(sink)


@needs_ts
def test_deleting_the_touched_symbol_is_symbol_removed(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    adoption.suggest(
        "t1",
        "geo.py",
        "def area(r):\n    radius_sq = r ** 2\n    return math.pi * radius_sq\n",
        repo=repo.root,
    )
    repo.write("geo.py", BASE.replace("def area(r):\n    return math.pi * r * r\n", ""))
    repo.commit("drop area")
    clock.advance(3601)
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "ignored"}
    assert ("t1", "symbol_removed", "geo.py::area") in symbol_verdicts(sink)


def test_deleted_file_reads_ignored_after_ttl(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    suggest_on_base(repo, adoption)
    repo.git("rm", "-q", "geo.py")
    repo.commit("delete")
    clock.advance(3601)
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "ignored"}


def test_unsupported_language_uses_text_fingerprints(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    repo.write("deploy.sh", "#!/bin/sh\nset -e\necho start\n")
    repo.commit("base")
    code = "for host in alpha beta gamma; do\n  ssh \"$host\" 'systemctl restart web'\ndone\n"
    s = adoption.suggest("t1", "deploy.sh", code, repo=repo.root)
    assert s.language == "text"
    assert s.symbols == []
    repo.write("deploy.sh", "#!/bin/sh\nset -e\necho start\n" + code)
    repo.commit("restart hosts")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}
    assert symbol_verdicts(sink) == set()


def test_survival_is_measured_at_next_commit_and_later(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC)
    repo.commit("adopt")
    adoption.check(repo.root)
    repo.write("geo.py", BASE + "\n\ndef circumference(radius):\n    return 2 * math.pi * radius\n")
    repo.commit("rewrite it")
    adoption.check(repo.root)
    clock.advance(86_400)
    adoption.check(repo.root)
    survival = {s.verdict: s.confidence for s in sink.signals if s.kind == "code.survival"}
    assert set(survival) == {"next_commit", "1d"}
    assert survival["next_commit"] is not None
    assert survival["next_commit"] < 0.5
    stored = next(iter(adoption.suggestions()))
    assert set(stored.survival) == {"next_commit", "1d"}


def test_a_suggestion_already_in_the_file_is_undecidable(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    s = adoption.suggest(
        "t1", "geo.py", "def area(r):\n    return math.pi * r * r\n", repo=repo.root
    )
    assert s.status == "undecidable"
    adoption.check(repo.root)
    assert sink.signals == []


def test_adoption_works_on_every_store(store: Store, repo: Repo, clock: FakeClock) -> None:
    sink = ListSink()
    adoption = CodeAdoption(store, sink=sink, clock=clock, ttl=60, forward_details=True)
    suggest_on_base(repo, adoption)
    adoption.suggest("t2", "geo.py", "def nothing():\n    return None or 0\n", repo=repo.root)
    repo.write("geo.py", BASE + NEW_FUNC)
    repo.commit("adopt")
    clock.advance(61)
    adoption.check(repo.root)
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied", "t2": "ignored"}
    rows = {s.trace_id: s for s in adoption.suggestions()}
    assert isinstance(rows["t1"], CodeSuggestion)
    assert rows["t1"].status == "resolved"
    assert rows["t2"].verdict == "ignored"
    assert len(list(adoption.findings(limit=None))) == len(sink.signals)


def test_outside_a_repository_is_a_clear_error(tmp_path: object, adoption: CodeAdoption) -> None:
    from pathlib import Path

    from outcomes.errors import ValidationError

    assert isinstance(tmp_path, Path)
    with pytest.raises(ValidationError, match="not inside a git work tree"):
        adoption.suggest("t1", tmp_path / "x.py", "print(1)\n")


def test_suggestion_for_a_new_file_in_a_repository_without_commits(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    s = adoption.suggest("t1", "pkg/new_module.py", NEW_FUNC, repo=repo.root)
    assert s.base_commit is None
    assert adoption.check(repo.root).pending == 1
    repo.write("pkg/new_module.py", "import math\n\n\n" + NEW_FUNC)
    repo.commit("first commit")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}


def test_staged_but_uncommitted_code_counts(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC)
    repo.git("add", "geo.py")
    repo.write("geo.py", BASE)  # the work tree went back; the index still has it
    report = adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}
    assert report.findings[0].source == "index"


def test_a_damaged_stored_line_sequence_falls_back_to_shares(
    repo: Repo, adoption: CodeAdoption, sink: ListSink
) -> None:
    repo.write("geo.py", BASE)
    repo.commit("base")
    s = adoption.suggest("t1", "geo.py", NEW_FUNC, repo=repo.root)
    assert s.line_sequence
    assert s.baseline_filter
    adoption.store.update(
        CodeSuggestion.__table__,
        s.suggestion_id,
        {"line_sequence": [["not a hash", 1, 2]], "baseline_filter": "64:7:%%"},
    )
    repo.write("geo.py", BASE + NEW_FUNC)
    repo.commit("adopt")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "applied"}


def test_a_one_constant_edit_of_a_suggestion_reads_modified(
    repo: Repo, adoption: CodeAdoption, sink: ListSink, clock: FakeClock
) -> None:
    suggest_on_base(repo, adoption)
    repo.write("geo.py", BASE + NEW_FUNC.replace("2 * radius", "3 * radius"))
    repo.commit("adopt with a change")
    adoption.check(repo.root)
    assert verdicts(sink) == {"t1": "modified"}
