"""The wire contract as a file: the checked-in schema, its version, and a validator in Node."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest

from outcomes.trajectory import (
    SCHEMA_VERSION,
    U32,
    ChunksRetrieved,
    LlmCall,
    RulesApplied,
    RuleSource,
    Step,
    StepRegistry,
    UnknownStep,
    dumps_steps,
    trajectory_schema,
)
from tests.trajectory.test_seed_parity import all_twelve

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "trajectory.schema.json"
FINGERPRINTS = Path(__file__).with_name("schema_fingerprints.json")
JS = Path(__file__).with_name("js")


def strip_descriptions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_descriptions(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [strip_descriptions(v) for v in value]
    return value


def fingerprint(schema: dict[str, Any]) -> str:
    canonical = json.dumps(strip_descriptions(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_checked_in_schema_is_the_generated_one() -> None:
    generated = json.dumps(trajectory_schema(StepRegistry()), indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == generated, (
        "docs/trajectory.schema.json is stale: run "
        "`outcomes trajectory schema > docs/trajectory.schema.json`"
    )


def test_a_change_to_kinds_or_fields_needs_a_schema_version_bump() -> None:
    known = json.loads(FINGERPRINTS.read_text())
    current = fingerprint(trajectory_schema(StepRegistry()))
    assert str(SCHEMA_VERSION) in known, (
        f"SCHEMA_VERSION {SCHEMA_VERSION} has no fingerprint: add "
        f'"{SCHEMA_VERSION}": "{current}" to {FINGERPRINTS.name}'
    )
    assert known[str(SCHEMA_VERSION)] == current, (
        "a step kind, field or wire type changed without a schema version bump: bump "
        "SCHEMA_VERSION in outcomes/trajectory/_jsonschema.py and add its fingerprint "
        f"({current}) to {FINGERPRINTS.name}; never edit an existing entry"
    )


def test_the_fingerprint_notices_a_renamed_field() -> None:
    schema = trajectory_schema(StepRegistry())
    props = schema["definitions"]["self_check"]["properties"]
    props["keep"] = props.pop("keep_count")
    assert fingerprint(schema) != fingerprint(trajectory_schema(StepRegistry()))


def test_schema_names_its_version() -> None:
    schema = trajectory_schema()
    assert schema["x-schema-version"] == SCHEMA_VERSION
    assert schema["$id"].endswith(f"v{SCHEMA_VERSION}")


@dataclasses.dataclass(frozen=True, slots=True)
class CacheLookup(Step):
    kind: ClassVar[str] = "cache_lookup"

    hits: Annotated[int, U32]
    keys: list[str]
    note: str | None = None


def test_user_kinds_extend_the_generated_schema() -> None:
    registry = StepRegistry()
    registry.register(CacheLookup)
    schema = trajectory_schema(registry)
    body = schema["definitions"]["cache_lookup"]
    assert body["required"] == ["kind", "hits", "keys"]
    assert body["properties"]["hits"]["maximum"] == 2**32 - 1
    assert (
        "cache_lookup" in schema["definitions"]["unknown_kind"]["properties"]["kind"]["not"]["enum"]
    )


# -- a validator in another language ---------------------------------------------------


def require_node_ajv() -> str:
    node = shutil.which("node")
    in_ci = os.environ.get("OUTCOMES_REQUIRE_SHARED") == "1" or os.environ.get("CI") == "true"
    if node is None or not (JS / "node_modules" / "ajv").is_dir():
        reason = (
            "Node's ajv is not installed: run `make install` (npm ci --prefix tests/trajectory/js)"
        )
        if in_ci:
            pytest.fail(f"the cross-language contract test must run in CI; {reason}")
        pytest.skip(reason)
    return node


def run_ajv(schema: Path, docs: list[Path]) -> list[dict[str, Any]]:
    node = require_node_ajv()
    done = subprocess.run(
        [node, str(JS / "validate.mjs"), str(schema), *map(str, docs)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def test_emitted_trajectories_validate_with_ajv_and_bad_ones_do_not(tmp_path: Path) -> None:
    every_kind = all_twelve()
    every_kind.push(ChunksRetrieved(1, ["a"], [0.1, 0.2, 1 / 3], started_at=1.7e9, duration_ms=0.5))
    every_kind.push(LlmCall("safety", 10, 20, trace_id="trace-1"))
    every_kind.push(UnknownStep("from_a_newer_writer", {"anything": [1, {"x": None}]}))
    docs = {
        "extended": every_kind.to_json_text(),
        "seed_shape": every_kind.to_json_text(seed_shape=True),
        "empty": "[]",
        "missing_field": '[{"kind":"chunks_retrieved","count":1,"symbols":[]}]',
        "extra_field": '[{"kind":"retrieval_filter","before":1,"after":1,"colour":"red"}]',
        "wrong_type": '[{"kind":"retrieval_filter","before":"1","after":1}]',
        "negative": '[{"kind":"retrieval_filter","before":-1,"after":1}]',
        "bad_enum": '[{"kind":"rules_applied","rule_ids":[],"source":"planet"}]',
        "not_array": '{"kind":"retrieval_filter","before":1,"after":1}',
        "bad_kind": '[{"kind":"Not Snake"}]',
    }
    paths = []
    for name, text in docs.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    results = {Path(r["file"]).stem: r for r in run_ajv(SCHEMA_FILE, paths)}
    for name in ("extended", "seed_shape", "empty"):
        assert results[name]["valid"], (name, results[name]["errors"])
    for name in set(docs) - {"extended", "seed_shape", "empty"}:
        assert not results[name]["valid"], name
    # JavaScript holds exactly the values Python wrote (floats included).
    assert json.loads(results["extended"]["reserialized"]) == json.loads(docs["extended"])


def test_user_kind_schema_validates_with_ajv(tmp_path: Path) -> None:
    registry = StepRegistry()
    registry.register(CacheLookup)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(trajectory_schema(registry)))
    good = tmp_path / "good.json"
    good.write_text(
        dumps_steps([CacheLookup(hits=2, keys=["k"]), RulesApplied([], RuleSource.LOCAL)], registry)
    )
    bad = tmp_path / "bad.json"
    bad.write_text('[{"kind":"cache_lookup","hits":-2,"keys":["k"]}]')
    results = {Path(r["file"]).stem: r["valid"] for r in run_ajv(schema, [good, bad])}
    assert results == {"good": True, "bad": False}
