"""``@record``: the slotted dataclasses of the statistics, without ``dataclasses``.

``outcomes models --json`` is polled by scripts, one fresh process a run (``cli._fast``);
``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``), about a sixth
of that command's whole cost, for classes that need none of it. ``record`` gives a class
what ``@dataclass(slots=True)`` (optionally ``frozen=True``) gives the state and view
classes on that path: ``__slots__``, an ``__init__`` taking the annotated fields in order
(defaults, :func:`field` factories, ``__post_init__``), ``__repr__``, ``__eq__`` (and
``__hash__`` when frozen; unhashable otherwise), ``__match_args__``, and pickling and
copying by the fields' values. Only ``__init__`` is compiled from text, as dataclasses
do it; the rest are closures over the fields. Type checkers read it as a dataclass
(PEP 681).
"""

from __future__ import annotations

import operator
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


def _init(names: list[str], defaults: dict[str, Any], post_init: bool, frozen: bool) -> Any:
    """``__init__`` of the fields ``names``: compiled, as a constructor's speed matters
    (a snapshot copies every cell), and so that its signature names the fields."""
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
        body.append(f"    _set(self, {n!r}, {value})" if frozen else f"    self.{n} = {value}")
    if post_init:
        body.append("    self.__post_init__()")
    src = f"def __init__(self, {', '.join(params)}) -> None:\n" + "\n".join(body or ["    pass"])
    exec(src, env)  # the text is built from the class's own field names only
    return env["__init__"]


def _methods(names: list[str]) -> dict[str, Any]:
    """``__repr__``, ``__eq__`` and ``__hash__`` over the fields' values, as dataclasses
    define them; plain closures (compiling them cost more than the rest of the import)."""
    get = operator.attrgetter(*names) if names else (lambda _: ())
    values: Callable[[Any], tuple[Any, ...]] = (lambda o: (get(o),)) if len(names) == 1 else get

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, values(self), strict=True))
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return values(self) == values(other)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    # Pickling and copying, as dataclasses do it for slots: by the fields' values, set
    # past a frozen record's refusal (the default sets each slot with ``setattr``).
    def __getstate__(self: Any) -> list[Any]:
        return list(values(self))

    def __setstate__(self: Any, state: Any) -> None:
        if isinstance(state, tuple):  # the default form, (None, {slot: value}): older pickles
            state = [{k: v for d in state if d for k, v in d.items()}[n] for n in names]
        for n, v in zip(names, state, strict=True):
            object.__setattr__(self, n, v)

    return {
        "__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__,
        "__getstate__": __getstate__, "__setstate__": __setstate__,
    }  # fmt: skip


@dataclass_transform(field_specifiers=(field,))
def record(*, frozen: bool = False) -> Callable[[type[T]], type[T]]:
    """Make the decorated class a slotted record of its annotated fields (see above)."""

    def make(cls: type[T]) -> type[T]:
        # Not ``inspect.get_annotations``: ``inspect`` is what this module avoids loading.
        annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        names = list(annotations)
        # What dataclasses would do differently is refused, not silently changed.
        for base in cls.__mro__[1:-1]:
            if base.__dict__.get("__annotations__"):  # noqa: RUF063
                raise TypeError(f"record {cls.__name__}: fields inherited from {base.__name__}")
        for n, kind in annotations.items():
            if "ClassVar" in str(kind) or "InitVar" in str(kind):
                raise TypeError(f"record {cls.__name__}: {n} is {kind}, not a field")
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        ns = {k: v for k, v in cls.__dict__.items() if k not in (*names, "__dict__")}
        ns.pop("__weakref__", None)
        methods = _methods(names)
        methods["__init__"] = _init(names, defaults, "__post_init__" in ns, frozen)
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
