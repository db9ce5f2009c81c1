"""The light front door: importing ``outcomes`` loads no heavy dependency, and every
package that loads its names lazily declares the same names to type checkers."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import outcomes

SRC = Path(outcomes.__file__).resolve().parent
HEAVY = ("numpy", "scipy", "matplotlib", "tree_sitter", "rich", "typer", "pydantic")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    modules: list[str] = json.loads(out.splitlines()[-1])
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_import_outcomes_loads_no_numpy_or_scipy() -> None:
    # The issue's own check, verbatim.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import outcomes, sys; "
            "assert 'scipy' not in sys.modules and 'numpy' not in sys.modules",
        ],
        check=True,
    )


def test_import_outcomes_loads_no_heavy_dependency() -> None:
    assert _loaded_after("import outcomes") == []


def test_version_answers_before_typer_is_imported() -> None:
    code = "import sys; sys.argv = ['outcomes', '--version']\nfrom outcomes.cli import main; main()"
    assert _loaded_after(code) == []
    out = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == f"outcomes {outcomes.__version__}\n"


def _lazy_packages() -> list[Path]:
    return sorted(p for p in SRC.rglob("__init__.py") if "_attach(" in p.read_text())


def _declared(init: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> module) from the TYPE_CHECKING imports and from the lazy map."""
    tree = ast.parse(init.read_text())
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typed = {
                alias.asname or alias.name: str(imp.module)
                for imp in node.body
                if isinstance(imp, ast.ImportFrom)
                for alias in imp.names
            }
            call = next(n for n in ast.walk(node) if isinstance(n, ast.Call))
            exports = ast.literal_eval(call.args[1])
            lazy = {name: module for module, names in exports.items() for name in names}
            return typed, lazy
    raise AssertionError(f"{init} calls _attach outside an `if TYPE_CHECKING: ... else:`")


def _module_name(init: Path) -> str:
    return ".".join(init.relative_to(SRC.parent).parent.parts)


@pytest.mark.parametrize("init", _lazy_packages(), ids=_module_name)
def test_lazy_names_match_the_type_checking_imports(init: Path) -> None:
    typed, lazy = _declared(init)
    assert typed == lazy


@pytest.mark.parametrize("init", _lazy_packages(), ids=_module_name)
def test_every_exported_name_of_a_lazy_package_resolves(init: Path) -> None:
    package = importlib.import_module(_module_name(init))
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        package.not_a_name


def test_the_lazy_packages_include_every_wing() -> None:
    names = {_module_name(p) for p in _lazy_packages()}
    assert {
        "outcomes",
        "outcomes.components",
        "outcomes.inference",
        "outcomes.ledger",
        "outcomes.routing",
        "outcomes.shadow",
        "outcomes.trajectory",
    } <= names
