"""A fresh install routes sensibly: dated prices, retired models never chosen, unknown
``--model`` names refused with close names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from outcomes.errors import ConfigError
from outcomes.inference import OutcomeTracker
from outcomes.registry import BUILTIN_MODELS, PRICES_AS_OF, ModelRegistry
from outcomes.routing import NoModelAvailable, Router
from outcomes.store import open_store
from tests.cli.test_models_cli import invoke


def test_every_builtin_model_has_a_dated_price_and_retired_ones_are_marked() -> None:
    for m in BUILTIN_MODELS:
        assert m.prices_as_of is not None
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.prices_as_of)
        assert m.prices_as_of <= PRICES_AS_OF
    reg = ModelRegistry.builtin()
    retired = {m.model_id for m in reg if m.retired}
    assert {"claude-v1", "gpt-3.5-turbo-1106", "claude-3-5-sonnet"} <= retired
    assert not {"gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"} & retired
    assert reg.cost("claude-v1", 1_000_000, 0) == pytest.approx(8.0)  # prices kept


def test_the_user_file_can_retire_and_date_a_model(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."gpt-4o"]\nretired = true\nprices_as_of = "2026-01-02"\n'
        '[models."mine"]\nusd_per_1m_input = 1\nusd_per_1m_output = 2\n',
        "utf-8",
    )
    reg = ModelRegistry.load(path)
    assert reg["gpt-4o"].retired
    assert reg["gpt-4o"].prices_as_of == "2026-01-02"
    assert reg["gpt-4o"].usd_per_1m_input == 2.50  # what the file leaves out stays
    assert not reg["mine"].retired
    again = ModelRegistry(source="x")
    again.update_from_toml(reg.to_toml(["gpt-4o", "mine"]))
    assert again["gpt-4o"] == reg["gpt-4o"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[models."m"]\nretired = "yes"\n', "'retired' must be bool"),
        ('[models."m"]\nprices_as_of = "June 2025"\n', "prices_as_of must be a date"),
        ('[models."m"]\nprices_as_of = "2025-02-30x"\n', "prices_as_of must be a date"),
    ],
)
def test_bad_retired_or_date_fields_name_the_field(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        ModelRegistry().update_from_toml(text)


def test_the_router_never_picks_a_retired_model() -> None:
    reg = ModelRegistry.builtin()
    for seed in range(200):
        d = Router(registry=reg, seed=seed).decide("generate")
        assert d.model_id is not None
        assert not reg[d.model_id].retired, seed
    d = Router(registry=reg, seed=1).decide("generate", candidates=["claude-v2", "gpt-4o"])
    assert d.model_id == "gpt-4o"
    assert {c.model_id: c.filtered for c in d.candidates}["claude-v2"].startswith("retired")
    with pytest.raises(NoModelAvailable, match="retired"):
        Router(registry=reg, seed=1).decide("generate", candidates=["claude-v2"])


def test_suggestions_are_close_current_names() -> None:
    reg = ModelRegistry.builtin()
    assert reg.suggest("gpt4o")[0] == "gpt-4o"
    assert reg.suggest("claude-sonet-4.5")[0] == "claude-sonnet-4-5"
    assert reg.suggest("GEMINI-2.5-FLASH")[0] == "gemini-2.5-flash"
    assert "claude-3-5-sonnet" not in reg.suggest("claude-3-5-sonnet")  # retired
    assert reg.suggest("my-own-model-v7", also=["my-own-model-v6"]) == ["my-own-model-v6"]
    assert reg.suggest("zzzzzz") == []


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    store = open_store(url)
    tracker = OutcomeTracker(store)
    t = tracker.record_start("house-model-7b", "generate")
    tracker.record_complete(t, 100.0, 10, 10)
    tracker.close()
    store.close()
    return url


def test_route_cli_refuses_unknown_models_naming_close_ones(db: str) -> None:
    code, out = invoke("route", "--task", "generate", "--db", db, "--model", "gpt4o-mini")
    assert code == 2
    assert "--model: unknown model 'gpt4o-mini'; did you mean gpt-4o-mini" in out
    code, out = invoke("route", "--task", "generate", "--db", db, "--model", "qqqqqq")
    assert code == 2
    assert "see outcomes models" in out
    # a model with recorded calls is known even outside the registry
    args = ("route", "--task", "generate", "--db", db, "--json", "--model", "house-model-7b")
    code, out = invoke(*args)
    assert code == 0, out
    assert json.loads(out)["model_id"] == "house-model-7b"


def test_route_cli_on_a_fresh_install_never_picks_retired_models(db: str) -> None:
    reg = ModelRegistry.builtin()
    for seed in range(5):
        code, out = invoke("route", "--task", "generate", "--db", db, "--json", "--seed", str(seed))
        assert code == 0, out
        decision = json.loads(out)
        assert not reg[decision["model_id"]].retired
    code, out = invoke("route", "--task", "generate", "--db", db, "--model", "claude-v1")
    assert code == 1
    assert "retired" in out
