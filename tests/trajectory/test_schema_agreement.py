"""The validator and the published JSON Schema agree on what a trajectory is.

Steps read from JSON are checked by ``msgspec`` (through ``outcomes._validate``); other
languages check the same documents against ``docs/trajectory.schema.json`` (here with
Node's ajv). Both must accept the same valid documents and refuse the same invalid and
hostile ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outcomes.errors import ValidationError
from outcomes.trajectory import loads_steps
from tests.trajectory.test_schema import SCHEMA_FILE, run_ajv

GOOD_STEP = '{"kind":"retrieval_filter","before":1,"after":1}'

FIXTURES: dict[str, tuple[str, bool]] = {
    "empty": ("[]", True),
    "one": (f"[{GOOD_STEP}]", True),
    "timing": (
        '[{"kind":"hybrid_fusion","fts_hits":1,"emb_hits":2,"overlap":0,'
        '"started_at":1700000000.5,"duration_ms":0}]',
        True,
    ),
    "llm_call": (
        '[{"kind":"llm_call","perspective":"p","input_tokens":4294967295,'
        '"output_tokens":0,"raw_output":null,"trace_id":"t"}]',
        True,
    ),
    "recalled": (
        '[{"kind":"past_verdicts_recalled","count":1,"top_similarities":[0.5],'
        '"recalled_items":[{"id":"v","title":"t","similarity":0.25,"excerpt":"e"}]}]',
        True,
    ),
    "unknown_kind": ('[{"kind":"from_a_newer_writer","x":[1,{"y":null}]}]', True),
    "u32_overflow": ('[{"kind":"retrieval_filter","before":4294967296,"after":1}]', False),
    "huge_int": ('[{"kind":"retrieval_filter","before":1' + "0" * 30 + ',"after":1}]', False),
    "negative": ('[{"kind":"retrieval_filter","before":-1,"after":1}]', False),
    "string_int": ('[{"kind":"retrieval_filter","before":"1","after":1}]', False),
    "bool_int": ('[{"kind":"retrieval_filter","before":true,"after":1}]', False),
    "f32_overflow": (
        '[{"kind":"self_check","keep_count":1,"drop_count":0,"avg_confidence":1e39}]',
        False,
    ),
    "huge_float": (
        '[{"kind":"self_check","keep_count":1,"drop_count":0,"avg_confidence":1e300}]',
        False,
    ),
    "negative_time": ('[{"kind":"retrieval_filter","before":1,"after":1,"started_at":-1}]', False),
    "extra_field": ('[{"kind":"retrieval_filter","before":1,"after":1,"colour":"red"}]', False),
    "missing": ('[{"kind":"retrieval_filter","before":1}]', False),
    "bad_enum": ('[{"kind":"rules_applied","rule_ids":[],"source":"planet"}]', False),
    "null_required": ('[{"kind":"retrieval_filter","before":null,"after":1}]', False),
    "long_string": (
        '[{"kind":"final_decision","issue_ids_emitted":["' + "x" * 4097 + '"]}]',
        False,
    ),
    "nested_extra": (
        '[{"kind":"past_verdicts_recalled","count":1,"top_similarities":[],'
        '"recalled_items":[{"id":"v","title":"t","similarity":0.1,"excerpt":"",'
        '"x":1}]}]',
        False,
    ),
    "bad_kind": ('[{"kind":"Not Snake"}]', False),
    "not_array": (GOOD_STEP, False),
    "wrong_seq": ('[{"kind":"retrieval_filter","before":1,"after":1,"seq":3}]', False),
}


KNOWN_DIFFERENCES = {
    # A reader is lenient where a writer is strict: an optional field sent as null reads as
    # absent (serde's Option does the same); the schema describes what writers emit.
    "llm_call": "null for an optional field",
    # "seq" must equal the step's position: a rule about the array that JSON Schema cannot
    # state, so only the validator enforces it.
    "wrong_seq": "seq equal to position",
}
"""Fixtures on which the validator and the schema differ on purpose, and why."""


def python_accepts(text: str) -> bool:
    try:
        loads_steps(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_the_validator_gives_the_expected_verdict(name: str) -> None:
    text, valid = FIXTURES[name]
    assert python_accepts(text) is valid


def test_the_published_schema_gives_the_same_verdicts(tmp_path: Path) -> None:
    paths = []
    for name, (text, _) in FIXTURES.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    verdicts = {Path(r["file"]).stem: r["valid"] for r in run_ajv(SCHEMA_FILE, paths)}
    ours = {name: python_accepts(text) for name, (text, _) in FIXTURES.items()}
    differ = {name for name in FIXTURES if verdicts[name] != ours[name]}
    assert differ == set(KNOWN_DIFFERENCES)
    assert json.loads(SCHEMA_FILE.read_text())["x-schema-version"] == 1
