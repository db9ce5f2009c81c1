"""Lazy package attributes (PEP 562), so that importing a package costs only what is used.

``import outcomes`` must stay cheap: a host application imports it at start-up, and
``outcomes --version`` must answer at about the cost of starting Python. A package therefore
names each public attribute and the module that defines it, and imports that module on
first access instead of at package import. Type checkers read the same names from ordinary
imports under ``TYPE_CHECKING``; the ``__getattr__`` sits in the ``else`` branch so that they
do not see it and still reject unknown names. A test checks that both lists agree.

In a package's ``__init__.py``::

    import typing as _typing

    from outcomes._lazy import attach as _attach

    if _typing.TYPE_CHECKING:
        from outcomes.store import MemoryStore
    else:
        __getattr__, __dir__ = _attach(__name__, {"outcomes.store": ("MemoryStore",)})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def attach(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for ``package``.

    ``exports`` maps a module's dotted name to the names it defines that ``package``
    re-exports. The first access to a name imports its module and stores the value on the
    package, so later accesses are plain attribute reads. An unknown name raises
    :class:`AttributeError`, as for any module.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
