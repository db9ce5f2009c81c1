"""The JSON Schema of the wire contract, generated from the registered step kinds.

:data:`SCHEMA_VERSION` names the contract. Changing a built-in step kind, a field name or
a field's wire type changes the generated schema; ``tests/trajectory`` keeps the
fingerprint of every released version and fails until the version is bumped.
"""

from __future__ import annotations

from typing import Any

from outcomes.trajectory._fields import (
    MAX_SAFE_INTEGER,
    NON_NEGATIVE,
    FieldType,
    ListType,
    ObjectType,
    object_schema,
)
from outcomes.trajectory._wire import (
    DEFAULT_REGISTRY,
    KIND_PATTERN,
    MAX_STEPS,
    StepRegistry,
)

SCHEMA_VERSION = 1
"""Version of the trajectory wire contract (``x-schema-version`` in the schema)."""

SCHEMA_ID = f"urn:outcomes:trajectory:v{SCHEMA_VERSION}"

_ADDITIVE: dict[str, Any] = {
    "seq": {"type": "integer", "minimum": 0, "maximum": MAX_STEPS - 1},
    "started_at": NON_NEGATIVE.schema(),
    "duration_ms": NON_NEGATIVE.schema(),
}


def _nested_in(ftype: FieldType, found: dict[str, ObjectType]) -> None:
    if isinstance(ftype, ListType):
        _nested_in(ftype.item, found)
    elif isinstance(ftype, ObjectType) and ftype.name not in found:
        found[ftype.name] = ftype
        for spec in ftype.fields:
            _nested_in(spec.type, found)


def trajectory_schema(registry: StepRegistry | None = None) -> dict[str, Any]:
    """The JSON Schema (draft-07) of a trajectory array for the kinds ``registry`` knows.

    ``None`` means :data:`~outcomes.trajectory.DEFAULT_REGISTRY`. Every known kind is an
    exact object (no extra keys); any other snake_case kind is accepted as an object, as
    the reader keeps steps of kinds it does not know.
    """
    registry = registry if registry is not None else DEFAULT_REGISTRY
    definitions: dict[str, Any] = {}
    nested: dict[str, ObjectType] = {}
    arms: list[dict[str, Any]] = []
    known: list[str] = []
    for info in registry.kinds():
        body = object_schema(info.fields, {"kind": {"const": info.kind}})
        body["properties"].update(_ADDITIVE)
        doc = (info.cls.__doc__ or "").strip().split("\n\n")[0]
        if doc:
            body = {"description": " ".join(doc.split()), **body}
        definitions[info.kind] = body
        arms.append({"$ref": f"#/definitions/{info.kind}"})
        known.append(info.kind)
        for spec in info.fields:
            _nested_in(spec.type, nested)
    for name, obj in sorted(nested.items()):
        definitions[name] = obj.definition()
    definitions["unknown_kind"] = {
        "description": "A step of a kind this version does not know; readers keep it intact.",
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {
                "type": "string",
                "pattern": KIND_PATTERN.pattern,
                "not": {"enum": known},
            },
            "seq": _ADDITIVE["seq"],
        },
    }
    arms.append({"$ref": "#/definitions/unknown_kind"})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "outcomes trajectory",
        "description": (
            "The ordered decision trail of one pipeline run: a JSON array of steps in push "
            'order, each tagged by its snake_case "kind". Integers are at most '
            f"{MAX_SAFE_INTEGER} so JavaScript holds them exactly."
        ),
        "x-schema-version": SCHEMA_VERSION,
        "type": "array",
        "maxItems": MAX_STEPS,
        "items": {"oneOf": arms},
        "definitions": definitions,
    }
