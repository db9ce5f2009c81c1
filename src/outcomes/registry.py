"""The model registry: what each model costs, where it runs, what it is for.

A :class:`ModelRegistry` starts from built-in defaults (:data:`BUILTIN_MODELS`, prices as
published by the providers, dated :data:`PRICES_AS_OF`) and is overridden and extended by
a user-editable TOML file, by default ``$OUTCOMES_HOME/models.toml``::

    [models."gpt-4o-mini"]
    provider = "openai"
    usd_per_1m_input = 0.15
    usd_per_1m_output = 0.60
    context_window = 128000
    tasks = []            # empty = every task
    local = false
    prior = 0.7           # optional tier or benchmark score in [0, 1]
    prices_as_of = "2025-06-01"   # when the prices were checked (YYYY-MM-DD)
    retired = false       # true: kept for its prices, never routed to

A field left out of a user entry keeps the built-in value for that model (or the default
below for a new model). A bad file raises :class:`~outcomes.errors.ConfigError` naming the
file, the line of the entry and the field.

>>> reg = ModelRegistry.builtin()
>>> round(reg.cost("gpt-4o-mini", 1_000_000, 0) or 0.0, 2)
0.15
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from outcomes import config
from outcomes._safejson import read_limited
from outcomes.errors import ConfigError, ValidationError

MODELS_FILENAME = "models.toml"
PRICES_AS_OF = "2025-10-15"
"""When the built-in prices were last checked against the providers' price pages (each
entry carries its own date, :attr:`ModelInfo.prices_as_of`). Prices change: put your own
in ``$OUTCOMES_HOME/models.toml``."""

_DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

MAX_REGISTRY_BYTES = 4 << 20
"""A models.toml larger than this is refused unread (a price table is a few KiB)."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the registry knows about one model.

    Prices are USD per one million tokens (``None`` = unknown, so cost is unknown);
    ``tasks`` empty means the model may serve any task; ``prior`` is an optional tier or
    benchmark score in [0, 1] a router may start from before outcomes arrive;
    ``prices_as_of`` the date (``YYYY-MM-DD``) the prices were checked; ``retired`` marks
    a model its provider shut down or deprecated: kept for its prices (imports, the
    RouterBench replay), never chosen by a router.
    """

    model_id: str
    provider: str = ""
    usd_per_1m_input: float | None = None
    usd_per_1m_output: float | None = None
    context_window: int | None = None
    tasks: tuple[str, ...] = ()
    local: bool = False
    prior: float | None = None
    prices_as_of: str | None = None
    retired: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model_id, str) or not self.model_id.strip():
            raise ValueError("model_id must be a non-empty string")
        for name in ("usd_per_1m_input", "usd_per_1m_output"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.context_window is not None and (
            isinstance(self.context_window, bool)
            or not isinstance(self.context_window, int)
            or self.context_window <= 0
        ):
            raise ValueError(f"context_window must be an integer > 0, got {self.context_window!r}")
        if self.prior is not None and (
            isinstance(self.prior, bool)
            or not isinstance(self.prior, int | float)
            or not 0.0 <= self.prior <= 1.0
        ):
            raise ValueError(f"prior must be a number in [0, 1], got {self.prior!r}")
        tasks: Any = self.tasks
        if not isinstance(tasks, tuple):
            object.__setattr__(self, "tasks", tuple(tasks))
        if not all(isinstance(t, str) and t for t in self.tasks):
            raise ValueError(f"tasks must be a list of task names, got {self.tasks!r}")
        if not isinstance(self.local, bool):
            raise ValueError(f"local must be true or false, got {self.local!r}")
        if not isinstance(self.retired, bool):
            raise ValueError(f"retired must be true or false, got {self.retired!r}")
        if self.prices_as_of is not None and (
            not isinstance(self.prices_as_of, str) or not _DATE_RE.match(self.prices_as_of)
        ):
            raise ValueError(f"prices_as_of must be a date YYYY-MM-DD, got {self.prices_as_of!r}")

    def serves(self, task: str) -> bool:
        """Whether this model may serve ``task`` (an empty ``tasks`` serves all)."""
        return not self.tasks or task in self.tasks

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """USD for one call with these token counts; ``None`` when a price is unknown."""
        if self.usd_per_1m_input is None or self.usd_per_1m_output is None:
            return None
        return (
            input_tokens * self.usd_per_1m_input + output_tokens * self.usd_per_1m_output
        ) / 1_000_000.0


def _m(
    model_id: str,
    provider: str,
    usd_in: float | None,
    usd_out: float | None,
    context: int | None,
    prior: float | None = None,
    *,
    local: bool = False,
    tasks: tuple[str, ...] = (),
    asof: str | None = "2025-06-01",
    retired: bool = False,
) -> ModelInfo:
    return ModelInfo(
        model_id, provider, usd_in, usd_out, context, tasks, local, prior, asof, retired
    )


_RB = "2024-03-28"
"""RouterBench's price table (Hu et al., 2024)."""


BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    # Hosted models, list prices per 1M tokens (standard tier, short context) on the date
    # each entry carries.
    _m("gpt-5", "openai", 1.25, 10.00, 400_000, 0.92, asof="2025-08-07"),
    _m("gpt-5-mini", "openai", 0.25, 2.00, 400_000, 0.85, asof="2025-08-07"),
    _m("gpt-5-nano", "openai", 0.05, 0.40, 400_000, 0.70, asof="2025-08-07"),
    _m("gpt-4.1", "openai", 2.00, 8.00, 1_047_576, 0.88),
    _m("gpt-4.1-mini", "openai", 0.40, 1.60, 1_047_576, 0.78),
    _m("gpt-4.1-nano", "openai", 0.10, 0.40, 1_047_576, 0.60),
    _m("gpt-4o", "openai", 2.50, 10.00, 128_000, 0.85),
    _m("gpt-4o-mini", "openai", 0.15, 0.60, 128_000, 0.70),
    _m("o3", "openai", 2.00, 8.00, 200_000, 0.90, asof="2025-06-10"),
    _m("o4-mini", "openai", 1.10, 4.40, 200_000, 0.86),
    _m("o3-mini", "openai", 1.10, 4.40, 200_000, 0.85, tasks=("reasoning", "code", "generate")),
    _m("text-embedding-3-small", "openai", 0.02, 0.0, 8_191, 0.7, tasks=("embed",)),
    _m("text-embedding-3-large", "openai", 0.13, 0.0, 8_191, 0.8, tasks=("embed",)),
    _m("claude-opus-4-1", "anthropic", 15.00, 75.00, 200_000, 0.93, asof="2025-08-05"),
    _m("claude-sonnet-4-5", "anthropic", 3.00, 15.00, 200_000, 0.92, asof="2025-09-29"),
    _m("claude-haiku-4-5", "anthropic", 1.00, 5.00, 200_000, 0.80, asof="2025-10-15"),
    _m("claude-opus-4", "anthropic", 15.00, 75.00, 200_000, 0.93),
    _m("claude-sonnet-4", "anthropic", 3.00, 15.00, 200_000, 0.91),
    _m("claude-3-7-sonnet", "anthropic", 3.00, 15.00, 200_000, 0.89),
    _m("claude-3-5-haiku", "anthropic", 0.80, 4.00, 200_000, 0.70),
    # Retired by Anthropic on 2025-10-22.
    _m("claude-3-5-sonnet", "anthropic", 3.00, 15.00, 200_000, 0.87, retired=True),
    _m("gemini-2.5-pro", "google", 1.25, 10.00, 1_048_576, 0.90),
    _m("gemini-2.5-flash", "google", 0.30, 2.50, 1_048_576, 0.80),
    _m("gemini-2.5-flash-lite", "google", 0.10, 0.40, 1_048_576, 0.65, asof="2025-07-22"),
    _m("gemini-2.0-flash", "google", 0.10, 0.40, 1_048_576, 0.72),
    _m("mistral-large", "mistral", 2.00, 6.00, 128_000, 0.78),
    _m("mistral-medium-3", "mistral", 0.40, 2.00, 128_000, 0.75),
    _m("mistral-small", "mistral", 0.10, 0.30, 32_000, 0.62),
    # Local models (no per-token price).
    _m("llama3.1:8b", "ollama", 0.0, 0.0, 128_000, 0.50, local=True),
    _m("qwen2.5-coder:7b", "ollama", 0.0, 0.0, 32_768, 0.55, local=True),
    # The 11 RouterBench models (../shared/datasets/README.md), at the per-token prices
    # RouterBench used; priors left empty so benchmarks learn from data. Their providers
    # have shut them down or replaced them with newer snapshots: retired, so that a fresh
    # install never routes to them (the replay builds its own registry from these prices).
    _m("gpt-4-1106-preview", "openai", 10.00, 30.00, 128_000, asof=_RB, retired=True),
    _m("gpt-3.5-turbo-1106", "openai", 1.00, 2.00, 16_385, asof=_RB, retired=True),
    _m("claude-v1", "anthropic", 8.00, 24.00, 100_000, asof=_RB, retired=True),
    _m("claude-v2", "anthropic", 8.00, 24.00, 100_000, asof=_RB, retired=True),
    _m("claude-instant-v1", "anthropic", 0.80, 2.40, 100_000, asof=_RB, retired=True),
    _m("meta/llama-2-70b-chat", "together", 0.90, 0.90, 4_096, asof=_RB, retired=True),
    _m("meta/code-llama-instruct-34b-chat", "together", 0.776, 0.776, 16_384, asof=_RB,
       retired=True),
    _m("mistralai/mixtral-8x7b-chat", "together", 0.60, 0.60, 32_768, asof=_RB, retired=True),
    _m("mistralai/mistral-7b-chat", "together", 0.20, 0.20, 8_192, asof=_RB, retired=True),
    _m("zero-one-ai/Yi-34B-Chat", "together", 0.80, 0.80, 4_096, asof=_RB, retired=True),
    _m("WizardLM/WizardLM-13B-V1.2", "together", 0.30, 0.30, 4_096, asof=_RB, retired=True),
)  # fmt: skip
"""Defaults shipped with the library (prices as of :data:`PRICES_AS_OF`)."""

_FIELDS = {
    "provider": str,
    "usd_per_1m_input": float,
    "usd_per_1m_output": float,
    "context_window": int,
    "tasks": list,
    "local": bool,
    "prior": float,
    "prices_as_of": str,
    "retired": bool,
}


def default_path() -> Path:
    """``$OUTCOMES_HOME/models.toml``."""
    return config.home() / MODELS_FILENAME


@dataclass(slots=True)
class ModelRegistry:
    """Models by id. Built-ins first, then a user file; lookups are exact by id."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    source: str = "built-in"

    @classmethod
    def builtin(cls) -> ModelRegistry:
        """The built-in defaults only."""
        return cls({m.model_id: m for m in BUILTIN_MODELS})

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, builtin: bool = True
    ) -> ModelRegistry:
        """Built-ins (unless ``builtin=False``) overridden by the TOML file at ``path``.

        ``path=None`` reads ``$OUTCOMES_HOME/models.toml`` if it exists. An explicit path
        that does not exist raises :class:`ConfigError`.
        """
        reg = cls.builtin() if builtin else cls()
        explicit = path is not None
        file = Path(path) if path is not None else default_path()
        if not file.exists():
            if explicit:
                raise ConfigError(f"{file}: model registry file not found")
            return reg
        try:
            text = read_limited(file, MAX_REGISTRY_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError, ValidationError) as exc:
            raise ConfigError(f"{file}: cannot read model registry: {exc}") from None
        reg.update_from_toml(text, source=str(file))
        return reg

    def update_from_toml(self, text: str, *, source: str = "<string>") -> None:
        """Merge the ``[models."id"]`` tables of ``text`` into this registry."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None
        unknown_top = set(doc) - {"models"}
        if unknown_top:
            raise ConfigError(
                f"{source}: unknown top-level key(s) {sorted(unknown_top)}; "
                'put each model under [models."<model id>"]'
            )
        models = doc.get("models", {})
        if not isinstance(models, dict):
            raise ConfigError(f"{source}: 'models' must be a table of model tables")
        for model_id, entry in models.items():
            where = f"{source}:{_line_of(text, model_id)} [models.{_quote(model_id)}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: must be a table of fields")
            self.models[model_id] = _entry(model_id, entry, self.models.get(model_id), where)
        self.source = source

    def add(self, info: ModelInfo) -> None:
        """Add or replace one model."""
        self.models[info.model_id] = info

    def get(self, model_id: str) -> ModelInfo | None:
        return self.models.get(model_id)

    def __getitem__(self, model_id: str) -> ModelInfo:
        try:
            return self.models[model_id]
        except KeyError:
            raise KeyError(f"unknown model {model_id!r}; add it to {default_path()}") from None

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.models

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def for_task(self, task: str) -> list[ModelInfo]:
        """Models that may serve ``task``, by id."""
        return sorted((m for m in self.models.values() if m.serves(task)), key=lambda m: m.model_id)

    def suggest(self, model_id: str, *, also: Iterable[str] = (), n: int = 3) -> list[str]:
        """Ids close to ``model_id`` (a typo, another spelling), best first: among this
        registry's current models and ``also`` (models with recorded calls)."""
        known = {m.model_id for m in self.models.values() if not m.retired} | set(also)
        by_lower = {k.lower(): k for k in sorted(known)}
        close = difflib.get_close_matches(model_id.lower(), list(by_lower), n=n, cutoff=0.6)
        return [by_lower[c] for c in close]

    def cost(self, model_id: str, input_tokens: int, output_tokens: int) -> float | None:
        """USD for one call, or ``None`` when the model or its price is unknown."""
        info = self.models.get(model_id)
        return None if info is None else info.cost(input_tokens, output_tokens)

    def to_toml(self, models: Iterable[str] | None = None) -> str:
        """Render models (default: all) in the file format, e.g. to start a user file."""
        ids = sorted(self.models) if models is None else list(models)
        out = [f"# outcomes model registry; built-in prices as of {PRICES_AS_OF}\n"]
        for model_id in ids:
            m = self.models[model_id]
            out.append(f"\n[models.{_quote(model_id)}]\n")
            out.append(f"provider = {_quote(m.provider)}\n")
            for name in ("usd_per_1m_input", "usd_per_1m_output", "context_window", "prior"):
                value = getattr(m, name)
                if value is not None:
                    out.append(f"{name} = {value!r}\n")
            out.append("tasks = [" + ", ".join(_quote(t) for t in m.tasks) + "]\n")
            out.append(f"local = {'true' if m.local else 'false'}\n")
            if m.prices_as_of is not None:
                out.append(f"prices_as_of = {_quote(m.prices_as_of)}\n")
            if m.retired:
                out.append("retired = true\n")
        return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_of(text: str, model_id: str) -> int:
    pattern = re.compile(r"^\s*\[\s*models\s*\.\s*(\"|')?" + re.escape(model_id) + r"(\"|')?\s*\]")
    for i, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return i
    return 0


def _entry(
    model_id: str, entry: Mapping[str, Any], base: ModelInfo | None, where: str
) -> ModelInfo:
    unknown = set(entry) - set(_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    values: dict[str, Any] = {}
    for name, raw in entry.items():
        kind = _FIELDS[name]
        value: Any = raw
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            value = float(raw)
        if kind is list:
            if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
                raise ConfigError(f"{where}: field 'tasks' must be a list of strings")
            value = tuple(raw)
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{where}: field {name!r} must be {kind.__name__}, got {type(value).__name__}"
            )
        values[name] = value
    try:
        if base is not None:
            return replace(base, **values)
        return ModelInfo(model_id, **values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


__all__ = [
    "BUILTIN_MODELS",
    "MODELS_FILENAME",
    "PRICES_AS_OF",
    "ModelInfo",
    "ModelRegistry",
    "default_path",
]
