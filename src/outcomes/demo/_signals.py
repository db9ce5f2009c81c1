"""Demo part: outcome signals from the real world, code adoption from git and follow-ups.

A temporary git repository gets five simulated code suggestions from two models: one is
committed as suggested, one adapted, one renamed along with its file, one left alone
(read as ignored once the TTL passes) and one in a shell script (text fingerprints
only). Then a few conversation follow-ups are classified. Every verdict goes to the
inference tracker as an idempotent signal; the check runs twice to show it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from rich import box
from rich.table import Table

from outcomes.cli._code import findings_table
from outcomes.demo import DemoContext
from outcomes.inference import OutcomeTracker
from outcomes.inference.code import CodeAdoption, structure_available
from outcomes.inference.conversation import ConversationSignals
from outcomes.testing import FakeClock

BASE = '''"""Shapes."""
import math


def area(r):
    return math.pi * r * r


class Greeter:
    def hello(self, name):
        return "hi " + name
'''

SUGGESTIONS = {
    "applied": (
        "shapes.py",
        'def circumference(radius):\n    """Length of the border."""\n'
        "    doubled = 2 * radius\n    return math.pi * doubled\n",
    ),
    "adapted": (
        "shapes.py",
        "class Greeter:\n    def hello(self, name):\n        cleaned = name.strip().title()\n"
        "        return f'hello, {cleaned}!'\n",
    ),
    "ignored": (
        "shapes.py",
        "def volume(r, h):\n    base = area(r)\n    return base * h\n",
    ),
    "renamed": (
        "util.py",
        "def clamp(value, low, high):\n    if value < low:\n        return low\n"
        "    return min(value, high)\n",
    ),
    "shell": (
        "deploy.sh",
        'for host in alpha beta; do\n  ssh "$host" systemctl restart web\ndone\n',
    ),
}

FOLLOW_UPS = [
    ("How do I undo my last commit?", "git reset --soft HEAD~1", "Thanks, that worked!", None),
    ("Regex for an email?", "^[\\w.+-]+@[\\w-]+\\.[\\w.]+$", "Nope, it matches a@b. too", None),
    (
        "Sort dicts by age?",
        "sorted(items, key=lambda d: d['age'])",
        "Works after I changed it to d.get('age', 0)",
        None,
    ),
    ("Restart a k8s deployment?", "kubectl rollout restart deploy/x", "ok let me try", None),
    ("Restart a k8s deployment?", "kubectl rollout restart deploy/x", "one sec", "that fixed it"),
    (
        "Wie entferne ich Duplikate in Excel?",
        "Daten > Duplikate entfernen",
        "Das stimmt nicht, es fehlt eine Spalte.",
        None,
    ),
    ("Why does my container exit?", "Run a foreground process.", None, None),
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repository(repo: Path) -> Path:
    """A fresh git repository with the base versions of the files suggestions target."""
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "demo@example.com")
    _git(repo, "config", "user.name", "Demo")
    (repo / "shapes.py").write_text(BASE)
    (repo / "util.py").write_text("def noop():\n    return None\n")
    (repo / "deploy.sh").write_text("#!/bin/sh\nset -e\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _adopt_some(repo: Path) -> None:
    """Commit what a developer kept: one suggestion as is, one adapted, one in a renamed
    file, the shell snippet; the volume() suggestion is left out."""
    adapted = BASE.replace(
        '        return "hi " + name\n',
        "        cleaned = name.strip()\n        return f'hello, {cleaned}!'\n",
    )
    (repo / "shapes.py").write_text(adapted + "\n\n" + SUGGESTIONS["applied"][1])
    (repo / "util.py").write_text("def noop():\n    return None\n\n\n" + SUGGESTIONS["renamed"][1])
    _git(repo, "mv", "util.py", "helpers.py")
    with (repo / "deploy.sh").open("a") as f:
        f.write(SUGGESTIONS["shell"][1])
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "adopt some suggestions")


def _follow_up_table(conversation: ConversationSignals) -> Table:
    """Each scripted follow-up with the verdict read from it."""
    table = Table(title="conversation follow-ups", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("next message", "verdict", "confidence", "cues"):
        table.add_column(col)
    for (_, _, nxt, after), rec in zip(
        FOLLOW_UPS, reversed(conversation.recent(len(FOLLOW_UPS))), strict=True
    ):
        shown = "(silence)" if nxt is None else nxt + (f" / {after}" if after else "")
        table.add_row(shown, rec.verdict, f"{rec.confidence:.2f}", rec.cues.replace(",", ", "))
    return table


def run(ctx: DemoContext) -> None:
    clock = FakeClock(ctx.started)
    tracker = OutcomeTracker(ctx.store, writer=ctx.writer, clock=clock)
    adoption = CodeAdoption(ctx.store, sink=tracker, clock=clock, ttl=3600)
    conversation = ConversationSignals(tracker, store=ctx.store, clock=clock)
    tmp = Path(tempfile.mkdtemp(prefix="outcomes-demo-"))
    try:
        repo = _repository(tmp / "repo")

        traces: dict[str, str] = {}
        for i, (label, (path, code)) in enumerate(SUGGESTIONS.items()):
            model = ("coder-large", "coder-small")[i % 2]
            trace = tracker.record_start(model, "code", "demo: code route", project_id="demo")
            tracker.record_complete(trace, 800.0 + 100 * i, 400, 120)
            adoption.suggest(trace, path, code, repo=repo)
            traces[label] = trace

        _adopt_some(repo)

        first = adoption.check(repo)
        clock.advance(3601)  # past the TTL: the untouched suggestion now reads 'ignored'
        second = adoption.check(repo)
        again = adoption.check(repo)

        for question, response, nxt, after in FOLLOW_UPS:
            trace = tracker.record_start("chat-model", "generate", "demo: chat", project_id="demo")
            tracker.record_complete(trace, 600.0, 200, 150)
            conversation.observe(
                trace, question=question, response=response, next_message=nxt, after_next=after
            )
        tracker.flush(timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    label_of = {t: label for label, t in traces.items()}
    found = list(first.findings) + list(second.findings)
    table = findings_table(found, title="code verdicts from git (per suggestion, per symbol)")
    ctx.console.print(table)
    ctx.console.print(_follow_up_table(conversation))
    verdicts = {label_of.get(f.trace_id, "?"): f.verdict for f in found if f.scope == "verdict"}
    ctx.console.print(
        "suggestions: "
        + ", ".join(f"{k} -> {v}" for k, v in sorted(verdicts.items()))
        + f". A third check found {len(again.findings)} new verdicts (idempotent). "
        + (
            "Structural verdicts by tree-sitter."
            if structure_available("python")
            else "tree-sitter extra not installed: text fingerprints only."
        )
        + " Only hashes were stored, never the code or the messages.",
        highlight=False,
    )
