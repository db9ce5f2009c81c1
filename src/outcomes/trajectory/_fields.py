"""The wire types a step field can have, each knowing its msgspec type and its JSON Schema.

One vocabulary drives three things so they cannot drift apart: validation of steps read
from JSON (each type gives the constrained ``msgspec`` type that the one validator,
:mod:`outcomes._validate`, checks, with the path of the offending value), the published
JSON Schema, and serialization.
Python annotations map onto it (``int`` -> :data:`I53`, ``float`` -> :data:`F64`...);
``Annotated[int, U32]`` picks a narrower wire type, as the built-in kinds do: their fields
are ``u32`` / ``usize`` / ``f32`` in the Rust builder whose JSON we must stay readable by
(docs/compat.md).
"""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Union

import msgspec

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer JavaScript holds exactly; ``usize`` fields are capped here."""

F32_MAX = 3.4028234663852886e38
"""Largest finite ``f32``: a reader built on the Rust trajectory types cannot hold a
bigger magnitude."""

MAX_STRING_CHARS = 4_096
"""Cap on identifier-like strings (symbols, rule ids, issue ids, perspectives...)."""

MAX_RAW_OUTPUT_CHARS = 1_000_000
"""Cap on ``llm_call.raw_output`` on the wire (it is never stored, see docs/trajectory.md)."""

MAX_LIST_ITEMS = 10_000
"""Cap on the length of any list field of a step."""


class FieldType:
    """A wire type: ``wire_type`` is what the validator decodes, ``schema`` describes it,
    ``dump`` encodes it."""

    __slots__ = ()

    name = "any"

    def wire_type(self) -> Any:
        """The constrained ``msgspec`` type of this field (``Annotated[int, Meta(...)]``...)."""
        raise NotImplementedError

    def to_record(self) -> Callable[[Any], Any] | None:
        """A converter from the decoded value to the record's, or ``None`` when equal."""
        return None

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def dump(self) -> Callable[[Any], Any] | None:
        """A converter from the Python value to JSON, or ``None`` when it already is JSON."""
        return None


class IntType(FieldType):
    __slots__ = ("maximum", "minimum", "name")

    def __init__(self, name: str, minimum: int, maximum: int) -> None:
        self.name = name
        self.minimum = minimum
        self.maximum = maximum

    def wire_type(self) -> Any:
        return Annotated[int, msgspec.Meta(ge=self.minimum, le=self.maximum)]

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class FloatType(FieldType):
    __slots__ = ("max_abs", "minimum", "name")

    def __init__(self, name: str, max_abs: float, minimum: float | None = None) -> None:
        self.name = name
        self.max_abs = max_abs
        self.minimum = -max_abs if minimum is None else minimum

    def wire_type(self) -> Any:
        # Both bounds are finite, so NaN and infinities fail them.
        return Annotated[float, msgspec.Meta(ge=self.minimum, le=self.max_abs)]

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum, "maximum": self.max_abs}

    def dump(self) -> Callable[[Any], Any]:
        # An int in a float field is emitted as 1.0, as serde emits an f32.
        return float


class StrType(FieldType):
    __slots__ = ("max_chars", "name")

    def __init__(self, max_chars: int = MAX_STRING_CHARS, name: str = "string") -> None:
        self.max_chars = max_chars
        self.name = name

    def wire_type(self) -> Any:
        return Annotated[str, msgspec.Meta(max_length=self.max_chars)]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_chars}


class BoolType(FieldType):
    __slots__ = ()

    name = "bool"

    def wire_type(self) -> Any:
        return bool

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class EnumType(FieldType):
    __slots__ = ("enum", "name")

    def __init__(self, enum: type[StrEnum]) -> None:
        self.enum = enum
        self.name = enum.__name__

    def wire_type(self) -> Any:
        return self.enum

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": [m.value for m in self.enum]}

    def dump(self) -> Callable[[Any], Any]:
        return _enum_value


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


class ListType(FieldType):
    __slots__ = ("item", "max_items", "name")

    def __init__(self, item: FieldType, max_items: int = MAX_LIST_ITEMS) -> None:
        self.item = item
        self.max_items = max_items
        self.name = f"list[{item.name}]"

    def wire_type(self) -> Any:
        return Annotated[list[self.item.wire_type()], msgspec.Meta(max_length=self.max_items)]  # type: ignore[misc]

    def to_record(self) -> Callable[[Any], Any] | None:
        inner = self.item.to_record()
        if inner is None:
            return None
        return lambda values: [inner(v) for v in values]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.schema(), "maxItems": self.max_items}

    def dump(self) -> Callable[[Any], Any]:
        inner = self.item.dump()
        if inner is None:
            return list
        return lambda values: list(map(inner, values))


class ObjectType(FieldType):
    """A nested record (such as ``RecalledVerdict``): a dataclass whose fields are all typed."""

    __slots__ = ("_struct", "cls", "fields", "name")

    def __init__(self, cls: type[Any], name: str) -> None:
        self.cls = cls
        self.name = name
        self.fields = fields_of(cls)
        self._struct: type[msgspec.Struct] | None = None

    def wire_type(self) -> Any:
        if self._struct is None:
            self._struct = wire_struct(self.name, self.fields)
        return self._struct

    def to_record(self) -> Callable[[Any], Any]:
        build = record_builder(self.cls, self.fields)
        return build

    def schema(self) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{self.name}"}

    def definition(self) -> dict[str, Any]:
        return object_schema(self.fields, {})

    def dump(self) -> Callable[[Any], Any]:
        return make_dumper(self.fields)


U32 = IntType("u32", 0, 2**32 - 1)
"""Unsigned 32-bit integer (Rust ``u32``)."""
USIZE = IntType("usize", 0, MAX_SAFE_INTEGER)
"""Unsigned size (Rust ``usize``), capped at 2**53-1 so a TypeScript reader holds it exactly."""
I53 = IntType("int", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
"""A plain Python ``int`` field: any integer a TypeScript reader holds exactly."""
F32 = FloatType("f32", F32_MAX)
"""A finite number within ``f32`` range (Rust ``f32``); emitted as the Python float's repr."""
F64 = FloatType("f64", 1.7976931348623157e308)
"""A plain Python ``float`` field: any finite number."""
NON_NEGATIVE = FloatType("non-negative number", 1.7976931348623157e308, 0.0)
"""A finite number >= 0 (start times, durations)."""
STR = StrType()
BOOL = BoolType()

_NESTED: dict[type[Any], ObjectType] = {}


def nested(name: str) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: make a dataclass usable as a field type under definition ``name``."""

    def wrap(cls: type[Any]) -> type[Any]:
        _NESTED[cls] = ObjectType(cls, name)
        return cls

    return wrap


def nested_types() -> list[ObjectType]:
    return list(_NESTED.values())


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a step kind: its wire type, whether it must be present, its default."""

    name: str
    type: FieldType
    required: bool
    omit_if_none: bool
    default: Any = None
    default_factory: Callable[[], Any] | None = None

    def default_value(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def field_type_of(hint: Any, where: str) -> tuple[FieldType, bool]:
    """Map a Python annotation to ``(wire type, optional)``; raise ``TypeError`` if unsupported."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(hint)
        for meta in extra:
            if isinstance(meta, FieldType):
                _, optional = field_type_of(base, where)
                return meta, optional
        return field_type_of(base, where)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{where}: only 'X | None' unions are supported, got {hint!r}")
        inner, _ = field_type_of(args[0], where)
        return inner, True
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        inner, optional = field_type_of(item, where)
        if optional:
            raise TypeError(f"{where}: list items cannot be optional")
        return ListType(inner), False
    simple: dict[Any, FieldType] = {int: I53, float: F64, str: STR, bool: BOOL}
    if hint in simple:
        return simple[hint], False
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return EnumType(hint), False
    if isinstance(hint, type) and hint in _NESTED:
        return _NESTED[hint], False
    raise TypeError(
        f"{where}: unsupported field type {hint!r}; use int, float, str, bool, a StrEnum, "
        "list[...] of those, 'X | None', or Annotated[..., U32/USIZE/F32/StrType(n)]"
    )


def fields_of(cls: type[Any], skip: frozenset[str] = frozenset()) -> tuple[FieldSpec, ...]:
    """The wire fields of dataclass ``cls`` in declaration order (``skip`` names excluded)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        ftype, optional = field_type_of(hints[f.name], f"{cls.__name__}.{f.name}")
        has_default = f.default is not dataclasses.MISSING
        has_factory = f.default_factory is not dataclasses.MISSING
        specs.append(
            FieldSpec(
                name=f.name,
                type=ftype,
                required=not (has_default or has_factory),
                omit_if_none=optional and has_default and f.default is None,
                default=f.default if has_default else None,
                default_factory=f.default_factory if has_factory else None,  # type: ignore[arg-type]
            )
        )
    return tuple(specs)


def wire_struct(
    name: str, specs: tuple[FieldSpec, ...], extra: tuple[tuple[str, Any, Any], ...] = ()
) -> type[msgspec.Struct]:
    """A ``msgspec`` Struct with the fields of ``specs`` (and ``extra`` (name, type,
    default) fields), refusing unknown fields: what :mod:`outcomes._validate` decodes a
    step or nested object into before the record itself is built."""
    fields: list[tuple[str, Any, Any]] = []
    for spec in specs:
        tp = spec.type.wire_type()
        if spec.omit_if_none:
            tp = tp | None
        if spec.required:
            fields.append((spec.name, tp, msgspec.NODEFAULT))
        elif spec.default_factory is not None:
            fields.append((spec.name, tp, msgspec.field(default_factory=spec.default_factory)))
        else:
            fields.append((spec.name, tp, spec.default))
    fields.extend(extra)
    return msgspec.defstruct(
        f"{name}_wire", fields, kw_only=True, forbid_unknown_fields=True, frozen=True
    )


def record_builder(
    cls: type[Any], specs: tuple[FieldSpec, ...], extra: tuple[str, ...] = ()
) -> Callable[[Any], Any]:
    """``decoded Struct -> cls(...)``: the record built from a value :func:`wire_struct`'s
    type decoded (nested objects converted to their own record types)."""
    names = tuple(s.name for s in specs) + extra
    converters = {s.name: c for s in specs if (c := s.type.to_record()) is not None}

    def build(value: Any) -> Any:
        kwargs = {n: getattr(value, n) for n in names}
        for n, convert in converters.items():
            if kwargs[n] is not None:
                kwargs[n] = convert(kwargs[n])
        return cls(**kwargs)

    return build


def make_dumper(
    specs: tuple[FieldSpec, ...], *, kind: str | None = None
) -> Callable[..., dict[str, Any]]:
    """Build a fast ``record -> dict`` function for ``specs`` (fields in order, ``None``
    omitted where the field is optional).

    With ``kind``, the function is ``(step, seq, seed_shape) -> dict``: ``"kind"`` first,
    then the fields, then (unless ``seed_shape``) ``seq`` and the timing fields when set.
    The function is generated source, as ``dataclasses`` does, because serializing
    thousands of steps is on the path to the remote endpoint; only field names (Python
    identifiers) and converters defined here go into it.
    """
    namespace: dict[str, Any] = {}
    literal: list[str] = []
    tail: list[str] = []
    if kind is not None:
        literal.append(f"'kind': {kind!r}")
    for i, spec in enumerate(specs):
        if not spec.name.isidentifier() or keyword.iskeyword(spec.name):
            raise TypeError(f"field name {spec.name!r} is not an identifier")
        convert = spec.type.dump()
        value = f"r.{spec.name}"
        if convert is not None:
            namespace[f"c{i}"] = convert
        if spec.omit_if_none or tail:
            # Once one field may be left out, the rest follow it in order as statements.
            expr = f"c{i}(v)" if convert is not None else "v"
            if spec.omit_if_none:
                tail.append(f"    v = {value}\n    if v is not None: out[{spec.name!r}] = {expr}")
            else:
                tail.append(
                    f"    v = {value}\n    out[{spec.name!r}] = None if v is None else {expr}"
                )
        elif convert is not None:
            literal.append(f"{spec.name!r}: None if (v{i} := {value}) is None else c{i}(v{i})")
        else:
            literal.append(f"{spec.name!r}: {value}")
    args = "r, seq, seed_shape" if kind is not None else "r"
    lines = [f"def dump({args}):", "    out = {" + ", ".join(literal) + "}", *tail]
    if kind is not None:
        lines += [
            "    if not seed_shape:",
            "        out['seq'] = seq",
            "        v = r.started_at",
            "        if v is not None: out['started_at'] = v",
            "        v = r.duration_ms",
            "        if v is not None: out['duration_ms'] = v",
        ]
    lines.append("    return out")
    exec("\n".join(lines), namespace)
    dump: Callable[..., dict[str, Any]] = namespace["dump"]
    return dump


def object_schema(specs: tuple[FieldSpec, ...], head: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of an object with ``head`` properties first, then ``specs``."""
    props: dict[str, Any] = dict(head)
    required = list(head)
    for spec in specs:
        props[spec.name] = spec.type.schema()
        if spec.required:
            required.append(spec.name)
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": False,
    }
