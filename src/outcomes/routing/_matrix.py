"""Outcome matrices: one prompt per line, every model's outcome on it.

Format: ``../shared/datasets/README.md`` (gzip or plain JSON lines). ``quality: null``
and a model missing from a line are failed calls (quality 0); a ``cost_usd: null`` is
filled from the price table (registry or ``--prices`` file) using token estimates of
4 characters per token.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

from outcomes._safejson import loads
from outcomes.errors import ImportFormatError, ValidationError
from outcomes.registry import ModelRegistry

CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True, slots=True)
class Row:
    prompt_id: str
    task: str
    split: str
    prompt: str
    quality: tuple[float, ...]
    """Per model (matrix order); failed calls are 0."""
    cost: tuple[float, ...]
    failed: tuple[bool, ...]
    output_chars: tuple[float, ...]
    available: tuple[bool, ...] | None = None
    """Which models could be called for this prompt (``None``: all). Only generated
    matrices set it (a model that appears mid-stream); a file's missing model is a
    failed call instead."""


@dataclass(frozen=True, slots=True)
class Matrix:
    models: tuple[str, ...]
    rows: tuple[Row, ...]
    missing_costs: int
    """How many costs came from the price table."""
    ordered: bool = False
    """Replay the rows in file order (drift, a model appearing): the seed then varies
    only the policies' draws. Files are shuffled per seed."""

    def split(self, name: str) -> list[Row]:
        if name == "all":
            return list(self.rows)
        return [r for r in self.rows if r.split == name]

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(sorted({r.task for r in self.rows}))


def _open(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(f"cannot read {path}: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ImportFormatError(f"{path}: broken gzip data ({exc})") from None
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 at byte {exc.start}") from None


def _number(value: object, where: str, *, low: float = 0.0, high: float = math.inf) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"expected a number or null, got {value!r}", where=where)
    if not low <= value <= high:
        raise ValidationError(f"{value!r} is outside [{low}, {high}]", where=where)
    return float(value)


def load_matrix(path: str | Path, *, registry: ModelRegistry | None = None) -> Matrix:
    """Read an outcome-matrix file; raises ``ValidationError`` naming the line and field."""
    path = Path(path)
    parsed: list[dict[str, object]] = []
    models: dict[str, None] = {}
    for number, line in enumerate(_open(path), 1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        obj = loads(line, where=where)
        if not isinstance(obj, dict) or not isinstance(obj.get("outcomes"), dict):
            raise ValidationError("expected an object with an 'outcomes' object", where=where)
        for key in ("prompt_id", "task"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise ValidationError(f"field {key!r} must be a non-empty string", where=where)
        obj["_where"] = where
        parsed.append(obj)
        for m in obj["outcomes"]:
            models.setdefault(str(m), None)
    if not parsed:
        raise ImportFormatError(f"{path}: no prompts")
    order = tuple(models)
    reg = registry if registry is not None else ModelRegistry.load()
    rows: list[Row] = []
    missing = 0
    for obj in parsed:
        where = str(obj["_where"])
        prompt = obj.get("prompt") if isinstance(obj.get("prompt"), str) else ""
        assert isinstance(prompt, str)
        outcomes: dict[str, object] = obj["outcomes"]  # type: ignore[assignment]
        q, c, failed, chars = [], [], [], []
        for m in order:
            o = outcomes.get(m)
            if o is not None and not isinstance(o, dict):
                raise ValidationError(f"outcome of {m!r} must be an object", where=where)
            o = o or {}
            quality = _number(o.get("quality"), f"{where}: {m}.quality", high=1.0)
            cost = _number(o.get("cost_usd"), f"{where}: {m}.cost_usd")
            out_chars = _number(o.get("output_chars"), f"{where}: {m}.output_chars")
            if cost is None:
                est = reg.cost(
                    m,
                    int(len(prompt) / CHARS_PER_TOKEN) + 1,
                    int((out_chars or 0.0) / CHARS_PER_TOKEN),
                )
                missing += 1
                cost = est if est is not None else 0.0
            q.append(0.0 if quality is None else quality)
            failed.append(quality is None)
            c.append(cost)
            chars.append(out_chars if out_chars is not None else 0.0)
        split = obj.get("split") if isinstance(obj.get("split"), str) else "all"
        assert isinstance(split, str)
        rows.append(
            Row(
                str(obj["prompt_id"]),
                str(obj["task"]),
                split,
                prompt,
                tuple(q),
                tuple(c),
                tuple(failed),
                tuple(chars),
            )
        )
    return Matrix(order, tuple(rows), missing)
