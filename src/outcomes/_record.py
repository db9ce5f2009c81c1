"""``@record``: the slotted dataclasses of the statistics, without ``dataclasses``.

``outcomes models --json`` is polled by scripts, one fresh process a run (``cli._fast``);
``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``), about a sixth
of that command's whole cost, for classes that need none of it. ``record`` gives a class
what ``@dataclass(slots=True)`` (optionally ``frozen=True``) gives the state and view
classes on that path: ``__slots__``, an ``__init__`` taking the annotated fields in order
(defaults, :func:`field` factories, ``__post_init__``), ``__repr__``, ``__eq__`` (and
``__hash__`` when frozen; unhashable otherwise) and ``__match_args__``. Type checkers
read it as a dataclass (PEP 681).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")
_FACTORY = "_record_factory"


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is a new ``default_factory()`` per instance."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _frozen_set(self: object, name: str, value: object = None) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")


def _methods(names: list[str], defaults: dict[str, Any], post_init: bool) -> dict[str, Any]:
    """``__init__``, ``__repr__`` and ``__eq__`` of the fields ``names``, compiled once."""
    env: dict[str, Any] = {"_set": object.__setattr__}
    params, body = [], []
    for n in names:
        if n in defaults:
            env[f"_d_{n}"] = defaults[n]
            is_factory = isinstance(defaults[n], _Factory)
            params.append(f"{n}=_d_{n}")
            value = f"_d_{n}.make() if {n} is _d_{n} else {n}" if is_factory else n
        else:
            params.append(n)
            value = n
        body.append(f"    _set(self, {n!r}, {value})")
    if post_init:
        body.append("    self.__post_init__()")
    values = ", ".join(f"self.{n}" for n in names)
    other = ", ".join(f"other.{n}" for n in names)
    reprs = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    src = (
        f"def __init__(self, {', '.join(params)}) -> None:\n" + "\n".join(body or ["    pass"])
        + f"\ndef __repr__(self):\n    return f'{{type(self).__qualname__}}({reprs})'"
        + "\ndef __eq__(self, other):\n    if other.__class__ is not self.__class__:\n"
        + f"        return NotImplemented\n    return ({values},) == ({other},)"
        + f"\ndef __hash__(self):\n    return hash(({values},))"
    )  # fmt: skip
    exec(src, env)
    return {k: env[k] for k in ("__init__", "__repr__", "__eq__", "__hash__")}


@dataclass_transform(field_specifiers=(field,))
def record(*, frozen: bool = False) -> Callable[[type[T]], type[T]]:
    """Make the decorated class a slotted record of its annotated fields (see above)."""

    def make(cls: type[T]) -> type[T]:
        # Not ``inspect.get_annotations``: ``inspect`` is what this module avoids loading.
        names = list(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        ns = {k: v for k, v in cls.__dict__.items() if k not in (*names, "__dict__")}
        ns.pop("__weakref__", None)
        methods = _methods(names, defaults, "__post_init__" in ns)
        if not frozen:
            methods["__hash__"] = None
        ns.update(methods, __slots__=tuple(names), __match_args__=tuple(names))
        if frozen:
            ns["__setattr__"] = ns["__delattr__"] = _frozen_set
        meta: Any = type(cls)
        made: type[T] = meta(cls.__name__, cls.__bases__, ns)
        made.__qualname__ = cls.__qualname__
        for f in methods.values():
            if f is not None:
                f.__qualname__ = f"{cls.__qualname__}.{f.__name__}"
        return made

    return make
