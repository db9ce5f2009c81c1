"""The wire types a step field can have, each knowing how to check a value and describe itself.

One vocabulary drives three things so they cannot drift apart: validation of steps read
from JSON (with the path of the offending value), the JSON Schema, and serialization.
Python annotations map onto it (``int`` -> :data:`I53`, ``float`` -> :data:`F64`...);
``Annotated[int, U32]`` picks a narrower wire type, as the built-in kinds do: their fields
are ``u32`` / ``usize`` / ``f32`` in the Rust builder whose JSON we must stay readable by
(docs/compat.md).
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Union

from outcomes.errors import ValidationError

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
    """A wire type: ``check`` validates a value, ``schema`` describes it, ``dump`` encodes it."""

    __slots__ = ()

    name = "any"

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` normalised, or raise :class:`ValidationError` naming ``where``."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def dump(self) -> Callable[[Any], Any] | None:
        """A converter from the Python value to JSON, or ``None`` when it already is JSON."""
        return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class IntType(FieldType):
    __slots__ = ("maximum", "minimum", "name")

    def __init__(self, name: str, minimum: int, maximum: int) -> None:
        self.name = name
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any, where: str) -> int:
        # bool is an int in Python but not on the wire; 2.0 is a float (serde rejects it too).
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"expected an integer, got {_type_name(value)}", where=where)
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(
                f"integer {value} out of range [{self.minimum}, {self.maximum}] ({self.name})",
                where=where,
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class FloatType(FieldType):
    __slots__ = ("max_abs", "minimum", "name")

    def __init__(self, name: str, max_abs: float, minimum: float | None = None) -> None:
        self.name = name
        self.max_abs = max_abs
        self.minimum = -max_abs if minimum is None else minimum

    def check(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"expected a number, got {_type_name(value)}", where=where)
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError(f"must be a finite number, got {value!r}", where=where)
        if not self.minimum <= number <= self.max_abs:
            raise ValidationError(
                f"{value!r} out of range [{self.minimum:g}, {self.max_abs:g}] ({self.name})",
                where=where,
            )
        return number

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

    def check(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"expected a string, got {_type_name(value)}", where=where)
        if len(value) > self.max_chars:
            raise ValidationError(
                f"string of {len(value)} characters exceeds the cap of {self.max_chars}",
                where=where,
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_chars}


class BoolType(FieldType):
    __slots__ = ()

    name = "bool"

    def check(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"expected true or false, got {_type_name(value)}", where=where)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class EnumType(FieldType):
    __slots__ = ("enum", "name")

    def __init__(self, enum: type[StrEnum]) -> None:
        self.enum = enum
        self.name = enum.__name__

    def check(self, value: Any, where: str) -> StrEnum:
        allowed = [m.value for m in self.enum]
        if not isinstance(value, str) or value not in allowed:
            raise ValidationError(f"expected one of {allowed}, got {value!r}", where=where)
        return self.enum(value)

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

    def check(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise ValidationError(f"expected an array, got {_type_name(value)}", where=where)
        if len(value) > self.max_items:
            raise ValidationError(
                f"array of {len(value)} items exceeds the cap of {self.max_items}", where=where
            )
        check = self.item.check
        return [check(v, f"{where}[{i}]") for i, v in enumerate(value)]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.schema(), "maxItems": self.max_items}

    def dump(self) -> Callable[[Any], Any]:
        inner = self.item.dump()
        if inner is None:
            return list
        return lambda values: list(map(inner, values))


class ObjectType(FieldType):
    """A nested record (such as ``RecalledVerdict``): a dataclass whose fields are all typed."""

    __slots__ = ("cls", "fields", "name")

    def __init__(self, cls: type[Any], name: str) -> None:
        self.cls = cls
        self.name = name
        self.fields = fields_of(cls)

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(f"expected an object, got {_type_name(value)}", where=where)
        return self.cls(**check_fields(self.fields, value, where, allowed_extra=()))

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


def check_fields(
    specs: tuple[FieldSpec, ...],
    data: dict[str, Any],
    where: str,
    *,
    allowed_extra: tuple[str, ...],
) -> dict[str, Any]:
    """Validate ``data`` against ``specs``; return constructor keyword arguments."""
    known = {s.name for s in specs}
    for key in data:
        if key not in known and key not in allowed_extra:
            raise ValidationError(
                f"unknown field (expected {sorted(known)})", where=f"{where}.{key}"
            )
    out: dict[str, Any] = {}
    for spec in specs:
        path = f"{where}.{spec.name}"
        if spec.name not in data:
            if spec.required:
                raise ValidationError("missing required field", where=path)
            out[spec.name] = spec.default_value()
            continue
        value = data[spec.name]
        if value is None and spec.omit_if_none:
            out[spec.name] = None
            continue
        out[spec.name] = spec.type.check(value, path)
    return out


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
