"""Verdicts on the cases the line-sequence rules exist for, in Python, JavaScript and Go.

Each test builds a baseline file, a suggestion and an outcome file, and asserts the
verdict :func:`decide` gives after the TTL (what :class:`CodeAdoption` emits).
"""

from __future__ import annotations

import pytest

from outcomes.inference.code import (
    Symbol,
    assess,
    decide,
    fingerprint,
    structure_available,
)
from outcomes.inference.code._assess import structure_verdicts
from outcomes.inference.code._compare import SuggestedLine
from outcomes.inference.code._fingerprint import LineFilter, line_sketch, sketch_similarity
from outcomes.records import CodeVerdict


def verdict(suggestion: str, before: str, after: str, language: str | None) -> str:
    lang = language if language and structure_available(language) else None
    got = decide(assess(fingerprint(suggestion, lang, before), after, lang), expired=True)
    assert got is not None
    return got.value


PY_BEFORE = """import math


def area(r):
    return math.pi * r * r


def perimeter(w, h):
    total = w + h
    return 2 * total
"""

PY_FUNC = """def scaled_area(r, factor):
    base = area(r)
    if factor <= 0:
        raise ValueError("factor must be positive")
    return base * factor
"""

JS_BEFORE = """import { fetchJson } from './http.js';

export function userUrl(id) {
  return `/api/users/${id}`;
}
"""

JS_FUNC = """export async function loadUser(id, options = {}) {
  const response = await fetchJson(userUrl(id), { timeout: 5000, ...options });
  if (!response.ok) {
    throw new Error(`user ${id} not found`);
  }
  return response.body;
}
"""

GO_BEFORE = """package store

import "errors"

var ErrMissing = errors.New("missing")

func (s *Store) Get(key string) (string, error) {
\tv, ok := s.items[key]
\tif !ok {
\t\treturn "", ErrMissing
\t}
\treturn v, nil
}
"""

GO_FUNC = """func (s *Store) Delete(key string) error {
\tif _, ok := s.items[key]; !ok {
\t\treturn ErrMissing
\t}
\tdelete(s.items, key)
\ts.deletes += 1
\treturn nil
}
"""

CASES = {
    "python": (PY_BEFORE, PY_FUNC),
    "javascript": (JS_BEFORE, JS_FUNC),
    "go": (GO_BEFORE, GO_FUNC),
}
LANGS = sorted(CASES)


@pytest.mark.parametrize("language", LANGS)
def test_a_suggestion_committed_as_is_reads_applied(language: str) -> None:
    before, func = CASES[language]
    assert verdict(func, before, before + "\n" + func, language) == "applied"


@pytest.mark.parametrize("language", LANGS)
def test_one_changed_constant_reads_modified(language: str) -> None:
    before, func = CASES[language]
    changed = {"python": ("<= 0", "<= 1"), "javascript": ("5000", "8000"), "go": ("+= 1", "+= 2")}
    old, new = changed[language]
    assert old in func
    assert verdict(func, before, before + "\n" + func.replace(old, new), language) == "modified"


@pytest.mark.parametrize("language", LANGS)
def test_one_rename_reads_modified(language: str) -> None:
    before, func = CASES[language]
    name = {"python": "base", "javascript": "response", "go": "ok"}[language]
    renamed = func.replace(f"{name} ", f"{name}Value ").replace(f"{name}.", f"{name}Value.")
    renamed = renamed.replace(f"!{name}", f"!{name}Value").replace(f" {name};", f" {name}Value;")
    assert renamed != func
    assert verdict(func, before, before + "\n" + renamed, language) == "modified"


@pytest.mark.parametrize("language", LANGS)
def test_a_line_the_human_added_inside_reads_modified(language: str) -> None:
    before, func = CASES[language]
    extra = {
        "python": "    log.debug('scaling %s', r)\n",
        "javascript": "  console.debug('loading', id);\n",
        "go": '\tlog.Printf("delete %s", key)\n',
    }[language]
    lines = func.splitlines(keepends=True)
    committed = "".join([lines[0], extra, *lines[1:]])
    assert verdict(func, before, before + "\n" + committed, language) == "modified"


@pytest.mark.parametrize("language", LANGS)
def test_a_line_the_human_added_right_after_reads_modified(language: str) -> None:
    before, func = CASES[language]
    lines = func.splitlines(keepends=True)
    # The suggestion stops one line short of what was committed: the human wrote it.
    suggestion = "".join(lines[:-3] + lines[-2:])
    assert verdict(suggestion, before, before + "\n" + func, language) == "modified"


@pytest.mark.parametrize("language", LANGS)
def test_unrelated_code_reads_ignored(language: str) -> None:
    before, func = CASES[language]
    other = CASES[LANGS[(LANGS.index(language) + 1) % len(LANGS)]][1]
    human = before + "\n// a note\n" if language != "python" else before + "\n# a note\n"
    assert verdict(other, before, human, language) == "ignored"
    assert verdict(func, before, human, language) == "ignored"


def test_a_function_head_without_its_whole_body_reads_applied() -> None:
    # The suggestion changes the signature and the first line; the rest of the body is
    # the file's own, untouched.
    head = "def perimeter(w, h, scale=1):\n    total = (w + h) * scale\n"
    after = PY_BEFORE.replace("def perimeter(w, h):\n    total = w + h\n", head)
    assert verdict(head, PY_BEFORE, after, "python") == "applied"
    if structure_available("python"):
        a = assess(fingerprint(head, "python", PY_BEFORE), after, "python")
        assert a.structure == (("perimeter", CodeVerdict.APPLIED),)


def test_a_block_inside_a_body_reads_applied() -> None:
    block = "    if r < 0:\n        raise ValueError('negative radius')\n"
    after = PY_BEFORE.replace("def area(r):\n", "def area(r):\n" + block)
    assert verdict(block, PY_BEFORE, after, "python") == "applied"
    edited = after.replace("'negative radius'", "'radius must be >= 0'")
    assert verdict(block, PY_BEFORE, edited, "python") == "modified"


OVERLOADS = """from typing import overload


@overload
def parse(value: str) -> int: ...
@overload
def parse(value: bytes) -> int: ...
def parse(value):
    return int(value)
"""


def test_an_overload_group_committed_verbatim_reads_applied() -> None:
    before = "import os\n\n\ndef main():\n    return os.getcwd()\n"
    after = before + "\n\n" + OVERLOADS
    assert verdict(OVERLOADS, before, after, "python") == "applied"


@pytest.mark.skipif(not structure_available("python"), reason="needs the code extra")
def test_each_overload_is_matched_to_its_own_definition() -> None:
    before = "import os\n"
    sp = fingerprint(OVERLOADS, "python", before)
    parses = [s for s in sp.symbols if s.name == "parse"]
    assert len(parses) == 3
    from outcomes.inference.code import symbols

    current = symbols(before + OVERLOADS, "python")
    assert current is not None
    found = structure_verdicts(sp, current)
    assert [v for n, v in found if n == "parse"] == [CodeVerdict.SYMBOL_ADDED] * 3
    # The implementation edited, the stubs untouched: only one definition changed.
    edited = symbols(before + OVERLOADS.replace("int(value)", "int(value, 0)"), "python")
    assert edited is not None
    got = [v for n, v in structure_verdicts(sp, edited) if n == "parse"]
    assert sorted(got) == sorted([CodeVerdict.SYMBOL_ADDED] * 2 + [CodeVerdict.BODY_MODIFIED])


@pytest.mark.skipif(not structure_available("go"), reason="needs the code extra")
def test_same_named_methods_of_two_types_are_told_apart() -> None:
    code = (
        "func (a *A) Close() error {\n\treturn a.f.Close()\n}\n\n"
        "func (b *B) Close() error {\n\treturn nil\n}\n"
    )
    before = "package x\n"
    after = before + "\n" + code
    assert verdict(code, before, after, "go") == "applied"


def test_a_suggestion_reformatted_by_a_formatter_reads_applied() -> None:
    before = "X = 1\n"
    code = "def scale(values, factor, offset):\n    return [v * factor + offset for v in values]\n"
    black = (
        "X = 1\n\n\ndef scale(\n    values,\n    factor,\n    offset,\n):\n"
        "    return [v * factor + offset for v in values]\n"
    )
    assert verdict(code, before, black, "python") == "applied"


def test_sketches_tell_an_edited_line_from_an_unrelated_one() -> None:
    line = "const response = await fetchJson(userUrl(id), { timeout: 5000 });"
    edited = line.replace("5000", "8000")
    other = "for (const item of items) { total += item.price * item.count; }"
    assert sketch_similarity(line_sketch(line), line_sketch(edited)) >= 0.5
    assert sketch_similarity(line_sketch(line), line_sketch(other)) < 0.3
    assert sketch_similarity(line_sketch(line), line_sketch(line)) == 1.0


def test_line_filter_round_trips_and_answers_membership() -> None:
    hashes = [f"{i:016x}" for i in range(0, 5000, 7)]
    f = LineFilter.decode(LineFilter.of(hashes).encode())
    assert all(h in f for h in hashes)
    misses = sum(f"{i:016x}" in f for i in range(1, 5000, 7))
    assert misses < 0.05 * len(hashes)


@pytest.mark.parametrize(
    "text", ["", "abc", "64:7", "64:7:%%%", "8:7:AAAA", "999999:7:AAAA", "64:0:" + "A" * 12]
)
def test_a_malformed_line_filter_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        LineFilter.decode(text)


@pytest.mark.parametrize(
    "item",
    [
        None,
        "x",
        [],
        ["0" * 16, "0" * 64, 3],
        ["zz" * 8, "0" * 64, 3, 1],
        ["0" * 16, "0" * 10, 3, 1],
        ["0" * 16, "0" * 64, -1, 1],
        ["0" * 16, "0" * 64, "3", 1],
        ["0" * 16, "0" * 64, 3, 7],
    ],
)
def test_a_malformed_stored_line_is_refused(item: object) -> None:
    with pytest.raises(ValueError, match=r".+"):
        SuggestedLine.from_json(item)


def test_stored_lines_round_trip() -> None:
    sp = fingerprint(PY_FUNC, None, PY_BEFORE)
    assert sp.sequence
    assert tuple(SuggestedLine.from_json(s.to_json()) for s in sp.sequence) == sp.sequence


def test_symbols_json_round_trip_is_unchanged() -> None:
    s = Symbol("A.f", "method", "ab" * 8, "cd" * 8)
    assert Symbol.from_json(s.to_json()) == s
