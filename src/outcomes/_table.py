"""How a record type maps to a table: the contract between records and every store.

A :class:`Table` names the table, its columns in order, the column whose value is the
record's identity (inserting a record whose key already exists does nothing, which is
what makes re-delivery and re-import idempotent), and how to turn a record into a row and
back. Stores are generic over tables; the schema itself is created by named migrations.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import (
    Annotated,
    Any,
    Generic,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import msgspec

from outcomes._redact import scrub_column, scrub_columns, scrub_json

R = TypeVar("R")

ColumnType = Literal["text", "int", "float", "bool", "json"]

_PORTABLE: dict[Any, ColumnType] = {str: "text", int: "int", float: "float", bool: "bool"}


def _column_type(annotation: Any) -> ColumnType:
    """The portable column type of a field annotation (``Annotated`` and ``| None`` peeled)."""
    tp = annotation
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return "json"
            tp = rest[0]
        else:
            return _PORTABLE.get(tp, "json")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name (equal to the record's attribute) and its portable type."""

    name: str
    type: ColumnType


@dataclass(frozen=True, slots=True)
class Table(Generic[R]):
    """The storage shape of one record type.

    ``columns`` follow the record's dataclass fields in order; ``key`` names the column
    that identifies a record. Every SQL table also has an implicit auto-increment ``seq``
    column giving insertion order.
    """

    name: str
    record_type: type[R]
    columns: tuple[Column, ...]
    key: str
    _getter: Callable[[R], tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    _json_idx: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _bool_idx: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _float_idx: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _text_idx: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _as_tuple: Callable[[R], tuple[Any, ...]] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if self.key not in names:
            raise ValueError(f"table {self.name}: key {self.key!r} is not a column")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        getter: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*names)
        if len(names) == 1:
            single = getter

            def getter(record: Any) -> tuple[Any, ...]:
                return (single(record),)

        object.__setattr__(self, "_getter", getter)
        object.__setattr__(
            self, "_json_idx", tuple(i for i, c in enumerate(self.columns) if c.type == "json")
        )
        object.__setattr__(
            self, "_bool_idx", tuple(i for i, c in enumerate(self.columns) if c.type == "bool")
        )
        object.__setattr__(
            self, "_float_idx", tuple(i for i, c in enumerate(self.columns) if c.type == "float")
        )
        object.__setattr__(
            self, "_text_idx", tuple(i for i, c in enumerate(self.columns) if c.type == "text")
        )
        # A msgspec Struct whose fields are the columns gives its values in one C call.
        struct = isinstance(self.record_type, type) and issubclass(self.record_type, msgspec.Struct)
        fields = self.record_type.__struct_fields__ if struct else ()  # type: ignore[attr-defined]
        as_tuple = msgspec.structs.astuple if tuple(fields) == tuple(names) else None
        object.__setattr__(self, "_as_tuple", as_tuple)

    @classmethod
    def of(cls, name: str, record_type: type[R], key: str, **types: ColumnType) -> Table[R]:
        """Build a table from a record type: every field is a column, in field order.

        For a ``msgspec.Struct`` and for a dataclass alike, the column types derive from
        the field annotations (``int``, ``float``, ``bool``, ``str``, under ``Annotated``
        and ``| None``; anything else is ``json``), so a record's fields are declared once.
        ``types`` overrides a derived type.
        """
        if isinstance(record_type, type) and issubclass(record_type, msgspec.Struct):
            derived = {f.name: _column_type(f.type) for f in msgspec.structs.fields(record_type)}
        else:
            # Dataclass annotations are strings under ``from __future__ import annotations``;
            # resolve them in the record's own module.
            hints = get_type_hints(record_type)
            fields = dataclasses.fields(record_type)  # type: ignore[arg-type]
            derived = {f.name: _column_type(hints[f.name]) for f in fields}
        unknown = set(types) - set(derived)
        if unknown:
            raise ValueError(f"table {name}: types for unknown fields {sorted(unknown)}")
        derived.update(types)
        columns = tuple(Column(n, t) for n, t in derived.items())
        return cls(name=name, record_type=record_type, columns=columns, key=key)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def to_row(self, record: R) -> tuple[Any, ...]:
        """Return the record's values in column order, JSON columns serialized.

        Every text value and every string in a JSON column passes the storage secret
        scrub (:func:`outcomes._redact.scrub_stored`), whichever path built the record.
        """
        row = scrub_columns(self._getter(record), self._text_idx)
        if self._json_idx:
            values = list(row)
            for i in self._json_idx:
                if values[i] is not None:
                    values[i] = json.dumps(
                        scrub_json(values[i]), separators=(",", ":"), ensure_ascii=False
                    )
            return tuple(values)
        return row

    def to_columns(
        self,
        records: Sequence[R],
        stored: Mapping[int, Callable[[Sequence[Any]], Sequence[Any]]] | None = None,
    ) -> list[Sequence[Any]]:
        """The values of ``records`` by column (one sequence per column, records in order):
        :meth:`to_row` of each record, transposed, with the same scrub.

        ``stored`` maps a column's position to a function that turns the column into
        what a store keeps (an encoding), applied before the scrub: values it turns into
        something other than text are not scrubbed.
        """
        cols: list[Sequence[Any]]
        if self._as_tuple is not None and records:
            cols = list(zip(*map(self._as_tuple, records), strict=True))
        else:
            cols = [list(map(operator.attrgetter(c.name), records)) for c in self.columns]
        for i, encode in (stored or {}).items():
            cols[i] = encode(cols[i])
        for i in self._text_idx:
            cols[i] = scrub_column(cols[i])
        for i in self._json_idx:
            cols[i] = [
                None
                if v is None
                else json.dumps(scrub_json(v), separators=(",", ":"), ensure_ascii=False)
                for v in cols[i]
            ]
        return cols

    def from_row(self, row: Sequence[Any]) -> R:
        """Rebuild a record from values in column order (as a store returns them)."""
        if self._json_idx or self._bool_idx:
            values = list(row)
            for i in self._json_idx:
                if isinstance(values[i], str):
                    values[i] = json.loads(values[i])
            for i in self._bool_idx:
                if values[i] is not None:
                    values[i] = bool(values[i])
            return self.record_type(*values)
        return self.record_type(*row)

    def first_non_finite(self, row: Sequence[Any]) -> str | None:
        """Name the first float column of ``row`` holding NaN or an infinity, else None."""
        for i in self._float_idx:
            value = row[i]
            # x - x is 0.0 for every finite float and NaN for NaN and both infinities.
            if value is not None and value - value != 0:
                return self.columns[i].name
        return None

    def key_of(self, record: R) -> Any:
        return getattr(record, self.key)
