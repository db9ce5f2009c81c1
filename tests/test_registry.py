"""The model registry: built-in prices, a user TOML file, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcomes import ModelInfo, ModelRegistry
from outcomes.errors import ConfigError
from outcomes.registry import BUILTIN_MODELS, PRICES_AS_OF


def test_builtins_cover_routerbench_models_and_price_calls() -> None:
    reg = ModelRegistry.builtin()
    for model in ("gpt-4-1106-preview", "zero-one-ai/Yi-34B-Chat", "WizardLM/WizardLM-13B-V1.2"):
        assert model in reg
    assert reg.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert reg.cost("unknown-model", 10, 10) is None
    assert len({m.model_id for m in BUILTIN_MODELS}) == len(BUILTIN_MODELS)
    assert PRICES_AS_OF.startswith("20")
    embedders = [m.model_id for m in reg.for_task("embed")]
    assert "text-embedding-3-small" in embedders
    assert "text-embedding-3-small" not in [m.model_id for m in reg.for_task("code")]
    assert embedders == sorted(embedders)


def test_user_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."gpt-4o-mini"]\nusd_per_1m_input = 1\n\n'
        '[models."my-llm"]\nprovider = "ollama"\nusd_per_1m_input = 0\nusd_per_1m_output = 0\n'
        'local = true\ntasks = ["code"]\nprior = 0.4\n',
        "utf-8",
    )
    reg = ModelRegistry.load(path)
    mini = reg["gpt-4o-mini"]
    assert (mini.usd_per_1m_input, mini.usd_per_1m_output, mini.provider) == (1.0, 0.6, "openai")
    mine = reg["my-llm"]
    assert (mine.local, mine.tasks, mine.prior, mine.serves("generate")) == (
        True,
        ("code",),
        0.4,
        False,
    )
    assert reg.cost("my-llm", 10, 10) == 0.0
    again = ModelRegistry.load(path)
    assert again.to_toml(["my-llm"]) == reg.to_toml(["my-llm"])


def test_default_file_lives_in_outcomes_home(outcomes_home: Path) -> None:
    assert ModelRegistry.load().get("gpt-4o") is not None
    outcomes_home.mkdir(parents=True)
    (outcomes_home / "models.toml").write_text('[models."x"]\nprovider = "p"\n', "utf-8")
    assert ModelRegistry.load()["x"].provider == "p"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[models."a"]\nusd_per_1m_input = -1\n', ':1 [models."a"]: usd_per_1m_input'),
        ('\n\n[models."b"]\nprior = 2\n', ':3 [models."b"]: prior'),
        ('[models."c"]\ncontext_window = "big"\n', "field 'context_window' must be int"),
        ('[models."d"]\ncolour = "red"\n', "unknown field(s) ['colour']"),
        ('[models."e"]\ntasks = "code"\n', "field 'tasks' must be a list"),
        ("[models\n", "not valid TOML"),
        ("[other]\nx = 1\n", "unknown top-level key"),
    ],
)
def test_bad_files_name_the_line_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        ModelRegistry.load(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_missing_explicit_file_and_bad_model_info(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        ModelRegistry.load(tmp_path / "nope.toml")
    with pytest.raises(ValueError, match="model_id"):
        ModelInfo("")
    with pytest.raises(KeyError, match="unknown model"):
        ModelRegistry()["x"]
