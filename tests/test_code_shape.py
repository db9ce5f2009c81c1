"""Issue 13's house rules for the library's own code: modules stay small enough to read in one
sitting and functions small enough to hold in one's head. Tests, benchmarks and generated
tables are not held to it."""

from __future__ import annotations

import ast
from pathlib import Path

import outcomes

SRC = Path(outcomes.__file__).parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_the_rules_see_the_library() -> None:
    # Guards the two tests above against passing because they read nothing.
    assert len(_modules()) > 100
    assert (SRC / "inference" / "_tracker.py") in _modules()
