"""``outcomes models --tag/--project/--since/--plot`` and feedback through ``ingest``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_models_cli import invoke


def _events(now: float) -> list[dict[str, Any]]:
    old, new = now - 10 * 86_400, now - 3600
    return [
        {"event": "complete", "trace_id": "a1", "model_id": "alpha", "task": "generate",
         "project_id": "web", "latency_ms": 400, "output_tokens": 5, "timestamp": old},
        {"event": "complete", "trace_id": "a2", "model_id": "alpha", "task": "generate",
         "project_id": "app", "latency_ms": 500, "output_tokens": 5, "timestamp": new},
        {"event": "complete", "trace_id": "b1", "model_id": "beta", "task": "generate",
         "project_id": "web", "latency_ms": 900, "output_tokens": 5, "timestamp": new},
        {"event": "feedback", "trace_id": "a1", "thumbs": False, "tags": ["pilot"],
         "timestamp": new},
        {"event": "feedback", "trace_id": "b1", "score": 4, "score_range": [1, 5],
         "tags": ["pilot"], "user_id": "u-7", "timestamp": new},
    ]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in _events(time.time())) + "\n", "utf-8")
    code, out = invoke("ingest", str(path), "--db", url, "--json")
    assert code == 0, out
    assert json.loads(out)["applied"] == 5
    return url


def _calls(*args: str) -> dict[str, tuple[int, int, int]]:
    code, out = invoke("models", *args, "--json")
    assert code == 0, out
    return {p["model_id"]: (p["calls"], p["successes"], p["failures"]) for p in json.loads(out)}


def test_models_filters_by_tag_project_and_since(db: str) -> None:
    assert _calls("--db", db) == {"alpha": (2, 1, 1), "beta": (1, 1, 0)}
    assert _calls("--db", db, "--tag", "pilot") == {"alpha": (1, 0, 1), "beta": (1, 1, 0)}
    assert _calls("--db", db, "--tag", "pilot", "--project", "web") == {
        "alpha": (1, 0, 1),
        "beta": (1, 1, 0),
    }
    assert _calls("--db", db, "--project", "app") == {"alpha": (1, 1, 0)}
    # a1 is ten days old: its feedback of today does not bring it into the last week
    assert _calls("--db", db, "--since", "7d") == {"alpha": (1, 1, 0), "beta": (1, 1, 0)}
    assert _calls("--db", db, "--since", "7d", "--tag", "pilot") == {"beta": (1, 1, 0)}
    assert _calls("--db", db, "--tag", "nobody") == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "seven days"), "--since"),
        (("--since", "7y"), "--since"),
        (("--tag", "has space"), "--tag"),
        (("--task", "bad task!"), "--task"),
    ],
)
def test_bad_filter_values_exit_2_naming_the_option(
    db: str, args: tuple[str, ...], message: str
) -> None:
    code, out = invoke("models", "--db", db, *args)
    assert code == 2
    assert message in out


def test_plot_writes_a_picture_and_refuses_unknown_formats(db: str, tmp_path: Path) -> None:
    png = tmp_path / "models.png"
    code, out = invoke("models", "--db", db, "--plot", str(png), "--json")
    assert code == 0, out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = tmp_path / "models.svg"
    code, _ = invoke("models", "--db", db, "--tag", "pilot", "--plot", str(svg))
    assert code == 0
    text = svg.read_text("utf-8")
    assert "alpha" in text
    assert "beta" in text
    code, out = invoke("models", "--db", db, "--plot", str(tmp_path / "models.txt"))
    assert code == 2
    assert ".png, .svg or .pdf" in out
    code, out = invoke("models", "--db", db, "--tag", "nobody", "--plot", str(png))
    assert code == 2
    assert "nothing to draw" in out


def test_models_show_of_an_unknown_model_names_the_close_recorded_ones(db: str) -> None:
    code, out = invoke("models", "show", "alpah", "--db", db)
    assert code == 2
    assert "no recorded calls for model 'alpah'; did you mean alpha?" in out
