"""Seed 002's tests, ported: the wire shape a TypeScript consumer relies on, byte for byte."""

from __future__ import annotations

import json

from outcomes.trajectory import (
    AnnRecall,
    ChunksRetrieved,
    FinalDecision,
    HybridFusion,
    LlmCall,
    McpResponseSize,
    PastVerdictsRecalled,
    RecalledVerdict,
    RetrievalFilter,
    RuleHitByOrigin,
    RulesApplied,
    RuleSource,
    SelfCheck,
    SignatureConfidenceAdjust,
    TrajectoryBuilder,
    loads_steps,
)


def test_serialize_matches_ts_shape_exactly() -> None:
    b = TrajectoryBuilder()
    b.push(ChunksRetrieved(count=2, symbols=["foo"], similarity_scores=[0.91]))
    b.push(SelfCheck(keep_count=3, drop_count=1, avg_confidence=0.82))
    arr = b.into_json()
    assert isinstance(arr, list)
    assert len(arr) == 2
    first, second = arr
    assert first["kind"] == "chunks_retrieved"
    assert first["count"] == 2
    assert "symbols" in first
    assert "similarity_scores" in first
    assert second["kind"] == "self_check"
    assert second["keep_count"] == 3
    assert second["drop_count"] == 1
    assert abs(second["avg_confidence"] - 0.82) < 1e-6


def test_llm_call_omits_raw_output_when_absent() -> None:
    b = TrajectoryBuilder()
    b.push(LlmCall(perspective="safety", input_tokens=123, output_tokens=45, raw_output=None))
    obj = b.into_json()[0]
    assert obj["perspective"] == "safety"
    assert "raw_output" not in obj
    with_output = TrajectoryBuilder()
    with_output.push(LlmCall("safety", 1, 2, raw_output="looks fine"))
    assert with_output.into_json()[0]["raw_output"] == "looks fine"


def test_full_pipeline_shape_matches_plan_capture_points() -> None:
    b = TrajectoryBuilder()
    b.push(ChunksRetrieved(count=4, symbols=["foo"], similarity_scores=[]))
    b.push(RulesApplied(rule_ids=["r1", "r2"], source=RuleSource.TEAM))
    b.push(PastVerdictsRecalled(count=2, top_similarities=[], recalled_items=[]))
    for p in ["safety", "performance", "style", "docs", "api_design"]:
        b.push(LlmCall(perspective=p, input_tokens=200, output_tokens=0))
    b.push(SelfCheck(keep_count=3, drop_count=1, avg_confidence=0.87))
    b.push(FinalDecision(issue_ids_emitted=["issue-1", "issue-2", "issue-3"]))
    assert len(b) == 1 + 1 + 1 + 5 + 1 + 1
    kinds = [s.kind for s in b.steps]
    assert kinds == [
        "chunks_retrieved",
        "rules_applied",
        "past_verdicts_recalled",
        "llm_call",
        "llm_call",
        "llm_call",
        "llm_call",
        "llm_call",
        "self_check",
        "final_decision",
    ]
    # Push order is the wire order, and seq numbers it.
    assert [o["kind"] for o in b.into_json()] == kinds
    assert [o["seq"] for o in b.into_json()] == list(range(10))


def test_mcp_response_size_and_rule_hit_by_origin_serialize() -> None:
    b = TrajectoryBuilder()
    b.push(McpResponseSize(tool="search_rules", total_tokens=1234, rules_injected=3))
    b.push(RuleHitByOrigin(manual=1, conversation=2, pr_review=0, extracted=1, cloud=0))
    arr = b.into_json()
    assert arr[0]["kind"] == "mcp_response_size"
    assert arr[0]["tool"] == "search_rules"
    assert arr[0]["total_tokens"] == 1234
    assert arr[0]["rules_injected"] == 3
    assert arr[1]["kind"] == "rule_hit_by_origin"
    assert arr[1]["manual"] == 1
    assert arr[1]["conversation"] == 2
    assert arr[1]["pr_review"] == 0
    assert arr[1]["extracted"] == 1
    assert arr[1]["cloud"] == 0
    text = json.dumps(arr)
    assert loads_steps(text) == list(b.steps)


def test_round_trip_deserialize_via_json() -> None:
    b = TrajectoryBuilder()
    b.push(
        PastVerdictsRecalled(
            count=4,
            top_similarities=[0.95, 0.88, 0.80, 0.72],
            recalled_items=[
                RecalledVerdict(
                    id="verdict-1",
                    title="avoid unwrap in request handlers",
                    similarity=0.95,
                    excerpt="fn handler() { ... .unwrap() ... }",
                )
            ],
        )
    )
    b.push(RulesApplied(rule_ids=["r1", "r2"], source=RuleSource.GLOBAL))
    b.push(FinalDecision(issue_ids_emitted=["issue-1"]))
    assert loads_steps(b.to_json_text()) == list(b.steps)
    assert loads_steps(b.to_json_text(seed_shape=True)) == list(b.steps)


# What serde_json::to_string produces for these steps in the seed (field order = the Rust
# declaration order, "kind" first, compact separators, f32 as its shortest decimal).
SEED_BYTES = (
    '[{"kind":"chunks_retrieved","count":2,"symbols":["foo"],"similarity_scores":[0.91]},'
    '{"kind":"rules_applied","rule_ids":["r1","r2"],"source":"team"},'
    '{"kind":"llm_call","perspective":"safety","input_tokens":123,"output_tokens":45},'
    '{"kind":"llm_call","perspective":"style","input_tokens":1,"output_tokens":2,'
    '"raw_output":"ok"},'
    '{"kind":"past_verdicts_recalled","count":1,"top_similarities":[0.95],"recalled_items":'
    '[{"id":"v1","title":"t","similarity":0.95,"excerpt":"e"}]},'
    '{"kind":"self_check","keep_count":3,"drop_count":1,"avg_confidence":0.82},'
    '{"kind":"signature_confidence_adjust","accepted_bumps":1,"rejected_bumps":0},'
    '{"kind":"final_decision","issue_ids_emitted":["issue-1"]},'
    '{"kind":"mcp_response_size","tool":"search_rules","total_tokens":1234,"rules_injected":3},'
    '{"kind":"rule_hit_by_origin","manual":1,"conversation":2,"pr_review":0,"extracted":1,'
    '"cloud":0},'
    '{"kind":"retrieval_filter","before":100,"after":40},'
    '{"kind":"hybrid_fusion","fts_hits":10,"emb_hits":12,"overlap":5},'
    '{"kind":"ann_recall","used":true,"index_size":5000,"candidates":50}]'
)


def all_twelve() -> TrajectoryBuilder:
    b = TrajectoryBuilder()
    b.push(ChunksRetrieved(2, ["foo"], [0.91]))
    b.push(RulesApplied(["r1", "r2"], RuleSource.TEAM))
    b.push(LlmCall("safety", 123, 45))
    b.push(LlmCall("style", 1, 2, raw_output="ok"))
    b.push(PastVerdictsRecalled(1, [0.95], [RecalledVerdict("v1", "t", 0.95, "e")]))
    b.push(SelfCheck(3, 1, 0.82))
    b.push(SignatureConfidenceAdjust(1, 0))
    b.push(FinalDecision(["issue-1"]))
    b.push(McpResponseSize("search_rules", 1234, 3))
    b.push(RuleHitByOrigin(1, 2, 0, 1, 0))
    b.push(RetrievalFilter(100, 40))
    b.push(HybridFusion(10, 12, 5))
    b.push(AnnRecall(True, 5000, 50))
    return b


def test_seed_shape_is_byte_identical_to_serde_output_for_all_twelve_kinds() -> None:
    b = all_twelve()
    assert {s.kind for s in b.steps} == {
        "chunks_retrieved",
        "rules_applied",
        "llm_call",
        "past_verdicts_recalled",
        "self_check",
        "signature_confidence_adjust",
        "final_decision",
        "mcp_response_size",
        "rule_hit_by_origin",
        "retrieval_filter",
        "hybrid_fusion",
        "ann_recall",
    }
    assert b.to_json_text(seed_shape=True) == SEED_BYTES


def test_extended_shape_only_appends_keys_a_seed_reader_ignores() -> None:
    b = all_twelve()
    b.push(SelfCheck(1, 0, 0.5, started_at=1_700_000_000.25, duration_ms=12.5))
    extended = b.into_json()
    seed = b.into_json(seed_shape=True)
    for i, (ext, base) in enumerate(zip(extended, seed, strict=True)):
        # Same keys in the same order first, then only the additive ones.
        assert list(ext)[: len(base)] == list(base)
        assert set(ext) - set(base) <= {"seq", "started_at", "duration_ms"}
        assert ext["seq"] == i
    assert extended[-1]["started_at"] == 1_700_000_000.25
    assert extended[-1]["duration_ms"] == 12.5


def test_seed_written_bytes_read_back_to_equal_steps_and_rewrite_identically() -> None:
    steps = loads_steps(SEED_BYTES)
    assert steps == list(all_twelve().steps)
    again = TrajectoryBuilder()
    for s in steps:
        again.push(s)
    assert again.to_json_text(seed_shape=True) == SEED_BYTES


def test_recalled_items_default_to_empty_when_missing_on_read() -> None:
    old = '[{"kind":"past_verdicts_recalled","count":2,"top_similarities":[0.9,0.8]}]'
    (step,) = loads_steps(old)
    assert isinstance(step, PastVerdictsRecalled)
    assert step.recalled_items == []
    assert step.top_similarities == [0.9, 0.8]


def test_raw_output_null_on_read_means_absent() -> None:
    (step,) = loads_steps(
        '[{"kind":"llm_call","perspective":"p","input_tokens":1,"output_tokens":2,'
        '"raw_output":null}]'
    )
    assert isinstance(step, LlmCall)
    assert step.raw_output is None


def test_recalled_excerpt_is_cut_to_200_characters_plus_ellipsis() -> None:
    v = RecalledVerdict("v", "title", 0.5, "x" * 500)
    assert v.excerpt == "x" * 200 + "…"
    assert RecalledVerdict("v", "t", 0.5, "short").excerpt == "short"


def test_an_integer_in_a_float_field_is_emitted_as_a_float_like_serde() -> None:
    b = TrajectoryBuilder()
    b.push(SelfCheck(1, 0, 1))
    assert b.to_json_text(seed_shape=True).endswith('"avg_confidence":1.0}]')
