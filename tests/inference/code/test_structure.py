"""Symbol extraction and structural verdicts for every supported language."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.inference.code import (
    assess,
    decide,
    fingerprint,
    language_of,
    structure_available,
    symbols,
)
from outcomes.records import CodeVerdict

# path, prefix, suffix, original `old`, suggested `old`, signature changed, body changed
CASES = {
    "python": (
        "m.py",
        "def keep(a):\n    return a\n\n",
        "",
        "def old(a):\n    return a + 1\n",
        "def old(a):\n    value = a + 2\n    return value\n",
        "def old(a, b):\n    value = a + 2\n    return value\n",
        "def old(a):\n    value = a + 3\n    return value\n",
    ),
    "javascript": (
        "m.js",
        "function keep(a) { return a; }\n",
        "",
        "function old(a) { return a + 1; }\n",
        "function old(a) { const value = a + 2; return value; }\n",
        "function old(a, b) { const value = a + 2; return value; }\n",
        "function old(a) { const value = a + 3; return value; }\n",
    ),
    "typescript": (
        "m.ts",
        "export function keep(a: number): number { return a; }\n",
        "",
        "export function old(a: number): number { return a + 1; }\n",
        "export function old(a: number): number { const value = a + 2; return value; }\n",
        "export function old(a: string): number { const value = a + 2; return value; }\n",
        "export function old(a: number): number { const value = a + 3; return value; }\n",
    ),
    "rust": (
        "m.rs",
        "fn keep(a: i32) -> i32 { a }\n",
        "",
        "fn old(a: i32) -> i32 { a + 1 }\n",
        "fn old(a: i32) -> i32 { let value = a + 2; value }\n",
        "fn old(a: i64) -> i32 { let value = a + 2; value }\n",
        "fn old(a: i32) -> i32 { let value = a + 3; value }\n",
    ),
    "go": (
        "m.go",
        "package m\n\nfunc keep(a int) int { return a }\n",
        "",
        "func old(a int) int { return a + 1 }\n",
        "func old(a int) int { value := a + 2; return value }\n",
        "func old(a int, b int) int { value := a + 2; return value }\n",
        "func old(a int) int { value := a + 3; return value }\n",
    ),
    "java": (
        "M.java",
        "class M {\n  int keep(int a) { return a; }\n",
        "}\n",
        "  int old(int a) { return a + 1; }\n",
        "  int old(int a) { int value = a + 2; return value; }\n",
        "  long old(int a) { int value = a + 2; return value; }\n",
        "  int old(int a) { int value = a + 3; return value; }\n",
    ),
}


@pytest.mark.parametrize("lang", sorted(CASES))
def test_language_detection_by_extension(lang: str) -> None:
    assert language_of(CASES[lang][0]) == lang
    assert language_of("notes.txt") is None


@pytest.mark.parametrize("lang", sorted(CASES))
def test_structural_verdicts_per_language(lang: str) -> None:
    if not structure_available(lang):
        pytest.skip(f"tree-sitter grammar for {lang} not installed (extra 'code')")
    _, prefix, suffix, old, sug, sig_changed, body_changed = CASES[lang]

    def file(middle: str) -> str:
        return prefix + middle + suffix

    base = file(old)
    assert {"keep", "old"} <= {s.short_name for s in symbols(base, lang) or []}
    sp = fingerprint(file(sug), lang, base)
    assert sp.structural

    def verdict_of(text: str | None) -> CodeVerdict | None:
        found = [v for n, v in assess(sp, text, lang).structure if n.endswith("old")]
        return found[0] if found else None

    assert verdict_of(base) is None, "untouched code gives no structural verdict"
    assert verdict_of(file(sug)) is CodeVerdict.APPLIED
    assert verdict_of(file(sig_changed)) is CodeVerdict.SIGNATURE_CHANGED
    assert verdict_of(file(body_changed)) is CodeVerdict.BODY_MODIFIED
    assert verdict_of(file("")) is CodeVerdict.SYMBOL_REMOVED


def test_a_new_symbol_reads_symbol_added() -> None:
    if not structure_available("rust"):
        pytest.skip("tree-sitter-rust not installed")
    sp = fingerprint("fn fresh(x: u8) -> u8 { x * 2 }\n", "rust", "fn main() {}\n")
    got = assess(sp, "fn main() {}\nfn fresh(x: u8) -> u8 { x * 2 }\n", "rust")
    assert got.structure == (("fresh", CodeVerdict.SYMBOL_ADDED),)
    assert got.score == 1.0


def test_tsx_arrow_functions_are_symbols() -> None:
    if not structure_available("tsx"):
        pytest.skip("tree-sitter-typescript not installed")
    found = {s.name for s in symbols("const Button = (p: Props) => <b>{p.x}</b>;\n", "tsx") or []}
    assert found == {"Button"}


def test_go_methods_are_qualified_by_receiver() -> None:
    if not structure_available("go"):
        pytest.skip("tree-sitter-go not installed")
    text = "package m\nfunc (s *Server) Start() error { return nil }\n"
    assert {s.name for s in symbols(text, "go") or []} == {"Server.Start"}


def test_without_a_grammar_fingerprints_are_text_only() -> None:
    sp = fingerprint("x = compute(1, 2)\ny = x * 3\n", None, "")
    assert not sp.structural
    assert sp.lines
    assert assess(sp, "x = compute(1, 2)\ny = x * 3\n", None).score == 1.0


def test_without_the_extra_everything_falls_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from outcomes.inference.code import _structure

    real = importlib.import_module

    def no_tree_sitter(name: str, package: str | None = None) -> object:
        if name.startswith("tree_sitter"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(_structure.importlib, "import_module", no_tree_sitter)
    _structure._parser.cache_clear()
    try:
        assert not structure_available("python")
        assert symbols("def f():\n    return 1\n", "python") is None
        sp = fingerprint("def f(x):\n    return x * 2\n", "python", "")
        assert not sp.structural
        assert assess(sp, "def f(x):\n    return x * 2\n", "python").score == 1.0
    finally:
        monkeypatch.undo()
        _structure._parser.cache_clear()


@settings(max_examples=150, deadline=None)
@given(
    code=st.text(max_size=600),
    baseline=st.one_of(st.none(), st.text(max_size=600)),
    lang=st.sampled_from([None, "python", "javascript", "typescript", "rust", "go", "java"]),
)
def test_any_text_fingerprints_and_finds_itself(
    code: str, baseline: str | None, lang: str | None
) -> None:
    sp = fingerprint(code, lang, baseline)
    assert all(len(h) == 16 for h in sp.lines | sp.shingles)
    a = assess(sp, (baseline or "") + "\n" + code, lang)
    if sp.lines or sp.shingles:
        assert a.score is not None
        assert a.score == 1.0
    assert decide(a, expired=True) is not None
