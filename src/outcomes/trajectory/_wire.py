"""The wire contract: step kinds by name, steps to JSON and back with validation.

A trajectory on the wire is a top-level JSON array of step objects in push order. Each
object starts with ``"kind"``, then the kind's fields in declaration order, then the
additive ``seq`` (the step's 0-based position) and, when set, ``started_at`` and
``duration_ms``. With ``seed_shape=True`` the additive keys are left out and the bytes are
those serde produces for the Rust builder's ``Vec<TrajectoryStep>``, the shape the
consuming service validates (docs/compat.md; docs/trajectory.md for the one
float-formatting caveat).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from outcomes import _validate
from outcomes.errors import ImportFormatError, ValidationError
from outcomes.trajectory._fields import (
    FieldSpec,
    fields_of,
    make_dumper,
    record_builder,
    wire_struct,
)
from outcomes.trajectory._steps import (
    BUILTIN_STEPS,
    TIMING_FIELDS,
    AnyStep,
    Step,
    UnknownStep,
)

MAX_STEPS = 10_000
"""Cap on the number of steps in one trajectory read from JSON or saved to a store."""

MAX_JSON_BYTES = 32 * 1024 * 1024
"""Cap on the size of one trajectory JSON document read by :func:`loads_steps`."""

MAX_UNKNOWN_DEPTH = 16
"""Cap on the nesting depth of the fields of a step of an unknown kind."""

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""A step kind is 1-64 characters of lower-case letters, digits and ``_`` (snake_case)."""

_RESERVED = frozenset({"kind", "seq", *TIMING_FIELDS})


@dataclass(frozen=True, slots=True)
class StepKind:
    """A registered step kind: its name, class, wire fields (timing fields excluded),
    ``dump(step, seq, seed_shape) -> dict``, the ``msgspec`` type its objects decode into
    (``wire``) and ``build(decoded) -> step``."""

    kind: str
    cls: type[Step]
    fields: tuple[FieldSpec, ...]
    dump: Callable[..., dict[str, Any]]
    wire: type[msgspec.Struct]
    build: Callable[[Any], Step]


_TIMING = Annotated[float, msgspec.Meta(ge=0.0, le=sys.float_info.max)] | None
_TIMING_FIELDS = tuple((name, _TIMING, None) for name in TIMING_FIELDS)


def _describe(cls: type[Step]) -> StepKind:
    if not (
        isinstance(cls, type)
        and issubclass(cls, Step)
        and dataclasses.is_dataclass(cls)
        and "__dataclass_fields__" in cls.__dict__  # itself a dataclass, not just a subclass
    ):
        raise TypeError(f"{cls!r} must be a dataclass subclass of outcomes.trajectory.Step")
    kind = cls.__dict__.get("kind")
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        raise TypeError(
            f"{cls.__name__}.kind must be a snake_case name (1-64 of a-z, 0-9, _), got {kind!r}"
        )
    fields = fields_of(cls, skip=frozenset(TIMING_FIELDS))
    clash = {f.name for f in fields} & _RESERVED
    if clash:
        raise TypeError(f"{cls.__name__}: field names {sorted(clash)} are reserved")
    return StepKind(
        kind=kind,
        cls=cls,
        fields=fields,
        dump=make_dumper(fields, kind=kind),
        wire=wire_struct(kind, fields, _TIMING_FIELDS),
        build=record_builder(cls, fields, TIMING_FIELDS),
    )


class StepRegistry:
    """The step kinds a reader and writer know, by name.

    A new registry knows the twelve built-in kinds. :meth:`register` adds a user kind
    (a dataclass subclass of :class:`Step` with a ``kind`` class attribute); readers given
    this registry then validate and rebuild that kind, and the JSON Schema includes it.
    """

    def __init__(self, kinds: Iterable[type[Step]] = BUILTIN_STEPS) -> None:
        self._by_kind: dict[str, StepKind] = {}
        self._by_class: dict[type[Step], StepKind] = {}
        for cls in kinds:
            self.register(cls)

    def register(self, cls: type[Step]) -> type[Step]:
        """Add step class ``cls``; returns it, so it also works as a class decorator.

        Raises ``TypeError`` when the class is not a typed step dataclass or its kind is
        taken by another class. Registering the same class twice is a no-op.
        """
        info = _describe(cls)
        existing = self._by_kind.get(info.kind)
        if existing is not None:
            if existing.cls is cls:
                return cls
            raise TypeError(f"step kind {info.kind!r} is already registered to {existing.cls!r}")
        self._by_kind[info.kind] = info
        self._by_class[cls] = info
        return cls

    def copy(self) -> StepRegistry:
        """A registry with the same kinds, that can be extended independently."""
        return StepRegistry(info.cls for info in self._by_kind.values())

    def get(self, kind: str) -> StepKind | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[StepKind]:
        """Every kind, built-ins first, then user kinds in registration order."""
        return list(self._by_kind.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind

    def info_for(self, cls: type[Step]) -> StepKind:
        info = self._by_class.get(cls)
        if info is None:
            # An unregistered step class can still be written; it is described on first use.
            info = _describe(cls)
            self._by_class[cls] = info
        return info


DEFAULT_REGISTRY = StepRegistry()
"""The registry used when none is given. :func:`register_step_kind` adds to it."""


def register_step_kind(cls: type[Step]) -> type[Step]:
    """Class decorator: register a user step kind in :data:`DEFAULT_REGISTRY`."""
    return DEFAULT_REGISTRY.register(cls)


def step_to_wire(
    step: AnyStep, seq: int, registry: StepRegistry = DEFAULT_REGISTRY, *, seed_shape: bool = False
) -> dict[str, Any]:
    """The wire object of ``step`` at position ``seq``."""
    out: dict[str, Any]
    if isinstance(step, UnknownStep):
        out = {"kind": step.kind}
        out.update(step.fields)
        if not seed_shape:
            out["seq"] = seq
        return out
    return registry.info_for(type(step)).dump(step, seq, seed_shape)


def steps_to_wire(
    steps: Sequence[AnyStep],
    registry: StepRegistry = DEFAULT_REGISTRY,
    *,
    seed_shape: bool = False,
) -> list[dict[str, Any]]:
    """The wire array of ``steps`` (plain dicts, lists, strings and numbers)."""
    return [step_to_wire(s, i, registry, seed_shape=seed_shape) for i, s in enumerate(steps)]


def dumps_steps(
    steps: Sequence[AnyStep],
    registry: StepRegistry = DEFAULT_REGISTRY,
    *,
    seed_shape: bool = False,
    indent: int | None = None,
) -> str:
    """Serialize ``steps`` to JSON text, compact like ``serde_json::to_string``.

    Floats are written as Python's ``repr`` (the shortest decimal that reads back as the
    same double), so a TypeScript ``JSON.parse`` holds exactly the Python values. NaN and
    infinities raise ``ValueError`` (they are not JSON).
    """
    wire = steps_to_wire(steps, registry, seed_shape=seed_shape)
    if indent is None:
        return json.dumps(wire, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return json.dumps(wire, indent=indent, ensure_ascii=False, allow_nan=False)


def _check_json_value(value: Any, where: str, depth: int) -> None:
    if depth > MAX_UNKNOWN_DEPTH:
        raise ValidationError(f"nested deeper than {MAX_UNKNOWN_DEPTH} levels", where=where)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"must be a finite number, got {value!r}", where=where)
    if isinstance(value, str) and len(value) > MAX_JSON_BYTES:
        raise ValidationError("string too long", where=where)
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError("object keys must be strings", where=where)
            _check_json_value(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json_value(v, f"{where}[{i}]", depth + 1)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValidationError(f"not a JSON value: {type(value).__name__}", where=where)


def step_from_wire(item: Any, index: int, registry: StepRegistry = DEFAULT_REGISTRY) -> AnyStep:
    """Validate one wire object (at position ``index``) and rebuild its step.

    Raises :class:`ValidationError` whose ``where`` is ``steps[<index>].<field>``.
    """
    where = f"steps[{index}]"
    if not isinstance(item, dict):
        raise ValidationError(
            f"a step must be a JSON object, got {type(item).__name__}", where=where
        )
    kind = item.get("kind")
    if kind is None:
        raise ValidationError("missing required field", where=f"{where}.kind")
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        raise ValidationError(
            f"kind must be a snake_case name (1-64 of a-z, 0-9, _), got {kind!r}",
            where=f"{where}.kind",
        )
    if "seq" in item:
        seq = item["seq"]
        if isinstance(seq, bool) or seq != index or not isinstance(seq, int):
            raise ValidationError(
                f"seq must equal the step's position {index}, got {seq!r}", where=f"{where}.seq"
            )
    info = registry.get(kind)
    if info is None:
        rest = {k: v for k, v in item.items() if k not in ("kind", "seq")}
        _check_json_value(rest, where, 0)
        return UnknownStep(kind=kind, fields=rest)
    data = {k: v for k, v in item.items() if k not in ("kind", "seq")}
    decoded = _validate.convert(data, info.wire, where=where)
    try:
        return info.build(decoded)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"invalid {kind} step: {exc}", where=where) from exc


def steps_from_wire(data: Any, registry: StepRegistry = DEFAULT_REGISTRY) -> list[AnyStep]:
    """Validate a wire array and rebuild its steps; all or nothing.

    Raises :class:`ValidationError` naming the first bad step and field.
    """
    if not isinstance(data, list):
        raise ValidationError(
            f"a trajectory must be a JSON array of steps, got {type(data).__name__}",
            where="steps",
        )
    if len(data) > MAX_STEPS:
        raise ValidationError(
            f"{len(data)} steps exceed the cap of {MAX_STEPS} per trajectory", where="steps"
        )
    return [step_from_wire(item, i, registry) for i, item in enumerate(data)]


def loads_steps(text: str | bytes, registry: StepRegistry = DEFAULT_REGISTRY) -> list[AnyStep]:
    """Parse JSON text holding a trajectory array and validate it (see :func:`steps_from_wire`).

    Raises :class:`~outcomes.errors.ImportFormatError` when the text is not JSON at all or
    exceeds :data:`MAX_JSON_BYTES`. ``NaN``/``Infinity`` literals parse, so that the
    validation error names the step and field that holds them.
    """
    if len(text) > MAX_JSON_BYTES:
        raise ImportFormatError(
            f"trajectory document of {len(text)} bytes exceeds the cap of {MAX_JSON_BYTES}"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"not valid JSON: {exc.msg}", where=f"line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ImportFormatError(f"not valid JSON: {exc}") from exc
    return steps_from_wire(data, registry)
