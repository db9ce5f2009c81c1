"""No secret reaches a file: each of 18 kinds of secret is planted in every text and id
field of every record type that reaches storage, through the public paths, and the raw
bytes of every file written (database, -wal, exports, caches, profile files, --json
reports) are searched for it. A field may refuse the value or store it scrubbed; it may
never store it."""

from __future__ import annotations

import contextlib
import json
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from outcomes import OutcomeTracker
from outcomes._schema import ALL_MIGRATIONS
from outcomes._table import Table
from outcomes.components import ComponentTracker
from outcomes.errors import OutcomesError
from outcomes.records import Receipt, Signal
from outcomes.shadow import ShadowConfig, ShadowRecorder
from outcomes.store import SQLiteStore
from outcomes.testing import cli
from outcomes.trajectory import (
    FinalDecision,
    LlmCall,
    PastVerdictsRecalled,
    RecalledVerdict,
    TrajectoryStore,
)

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def planted(seed: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Kind -> (text to plant, the parts that must never be stored). Random every seed, so
    no fixed example can be special-cased."""
    rng = random.Random(seed)

    def r(n: int, alphabet: str = ALNUM) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    def one(prefix: str, body: str, suffix: str = "") -> tuple[str, tuple[str, ...]]:
        return prefix + body + suffix, (body,)

    aws_id, aws_secret = "AKIA" + r(16, UPPER), r(36, B64) + "/" + r(3, B64)
    webhook = f"T{r(8, UPPER)}/B{r(8, UPPER)}/{r(24)}"
    jwt = f"eyJ{r(20, URLSAFE)}.eyJ{r(30, URLSAFE)}.{r(43, URLSAFE)}"
    password = r(18)
    pem = r(64, B64)
    return {
        "stripe_secret": one("sk_live_", r(24)),
        "stripe_restricted": one("rk_live_", r(24)),
        "jwt": (jwt, (jwt[3:],)),
        "aws_key_pair": (f"{aws_id} {aws_secret}", (aws_id[4:], aws_secret)),
        "aws_named_secret": one("aws_secret_access_key=", r(40, B64)),
        "pem_private_key": (
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem}\n-----END RSA PRIVATE KEY-----",
            (pem,),
        ),
        "slack_webhook": one("https://hooks.slack.com/services/", webhook),
        "slack_token": one("xoxb-", f"{r(11, string.digits)}-{r(24)}"),
        "huggingface": one("hf_", r(34)),
        "groq": one("gsk_", r(52)),
        "openai": one("sk-proj-", r(48, URLSAFE)),
        "anthropic": one("sk-ant-api03-", r(80, URLSAFE)),
        "github": one("ghp_", r(36)),
        "github_pat": one("github_pat_", r(82, ALNUM + "_")),
        "bearer_header": one("Authorization: Bearer ", r(40)),
        "url_password": (f"postgresql://admin:{password}@db.internal:5432/prod", (password,)),
        "google": one("AIza", r(35, URLSAFE)),
        "gitlab": one("glpat-", r(20)),
    }


SECRETS = planted(20_26)
KINDS = sorted(SECRETS)


def needles() -> Iterator[tuple[str, bytes]]:
    for kind, (_, parts) in SECRETS.items():
        for part in parts:
            yield kind, part.encode("utf-8")


def leaks(tmp_path: Path, reports: list[str]) -> list[str]:
    """Every (kind, file) where a secret's bytes were found."""
    found = []
    blobs = [(str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()]
    blobs += [(f"report {i}", text.encode("utf-8")) for i, text in enumerate(reports)]
    for kind, needle in needles():
        for name, data in blobs:
            if needle in data:
                found.append(f"{kind} in {name}")
    return found


# -- every record type, every text and JSON column, at the storage boundary ------------


def _every_table() -> list[Table[Any]]:
    from outcomes.components._records import ComponentEvent
    from outcomes.inference.code._records import CodeFinding, CodeSuggestion
    from outcomes.inference.conversation import ConversationRecord
    from outcomes.shadow._records import ShadowDecision, ShadowObservation
    from outcomes.trajectory._records import OutboxEntry, StoredStep, TrajectoryRun

    types = (Receipt, ComponentEvent, CodeSuggestion, CodeFinding, ConversationRecord,
             ShadowObservation, ShadowDecision, TrajectoryRun, StoredStep, OutboxEntry)  # fmt: skip
    return [t.__table__ for t in types]


def _record(table: Table[Any], text: str, key: str) -> Any:
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name == table.key:
            values[column.name] = key
        elif column.type == "text":
            values[column.name] = text
        elif column.type == "json":
            values[column.name] = {text: [text, {"nested": text}]}
        elif column.type == "bool":
            values[column.name] = True
        elif column.type == "int":
            values[column.name] = 1
        else:
            values[column.name] = 1_700_000_000.0
    names = set(table.column_names)  # every column is a field (dataclass or msgspec Struct)
    return table.record_type(**{k: v for k, v in values.items() if k in names})


def test_no_secret_of_any_kind_reaches_any_column_of_any_table(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    store.migrate(ALL_MIGRATIONS)
    for table in _every_table():
        for i, kind in enumerate(KINDS):
            text, _ = SECRETS[kind]
            store.write([_record(table, text, f"{table.name}-{i}")])
    found = leaks(tmp_path, [])  # while the rows are still in the -wal file
    store.close()
    assert not found + leaks(tmp_path, [])


# -- the public paths ------------------------------------------------------------------

Plant = Callable[[str], None]


def _try(fn: Callable[[], Any]) -> None:
    # A field may refuse a secret (that is one of the two allowed outcomes).
    with contextlib.suppress(OutcomesError, ValueError, TypeError):
        fn()


def _inference_paths(tracker: OutcomeTracker) -> dict[str, Plant]:
    def start(**kw: Any) -> str:
        # Completed at once, so that the call's labels reach the profiles (and the
        # profile file and caches), not only the pending table.
        args = {"model_id": "m", "task": "code", "routing_reason": "r", **kw}
        trace = tracker.record_start(
            args.pop("model_id"), args.pop("task"), args.pop("routing_reason"), **args
        )
        tracker.record_complete(trace, 10.0, 1, 1)
        return trace

    def failure(error: str) -> None:
        trace = tracker.record_start("m", "code", "r")
        tracker.record_failure(trace, error)

    def signal(**kw: Any) -> None:
        trace = start()
        values = {"signal_id": "s-" + trace, "kind": "conversation", "detail": None, **kw}
        tracker.record_signal(
            Signal(
                values["signal_id"], trace, values["kind"], "accepted", 1.7e9, 0.9, values["detail"]
            )
        )

    return {
        "model_id": lambda s: _try(lambda: start(model_id=s)),
        "task": lambda s: _try(lambda: start(task=s)),
        "routing_reason": lambda s: _try(lambda: start(routing_reason=s)),
        "project_id": lambda s: _try(lambda: start(project_id=s)),
        "intent": lambda s: _try(lambda: start(intent=s)),
        "trace_id": lambda s: _try(lambda: start(trace_id=s)),
        "error": lambda s: _try(lambda: failure(s)),
        "signal_id": lambda s: _try(lambda: signal(signal_id=s)),
        "signal_kind": lambda s: _try(lambda: signal(kind=s)),
        "signal_detail": lambda s: _try(lambda: signal(detail=s)),
    }


def test_no_secret_planted_through_the_library_reaches_a_file(
    outcomes_home: Path, tmp_path: Path
) -> None:
    outcomes_home.mkdir()
    store = SQLiteStore(outcomes_home / "outcomes.db")
    tracker = OutcomeTracker(store)
    components = ComponentTracker(store)
    trajectories = TrajectoryStore(store)
    shadow = ShadowRecorder(store, config=ShadowConfig(enabled=True, sample_rate=1.0))
    paths = _inference_paths(tracker)
    paths |= {
        "component_id": lambda s: _try(lambda: components.record_outcome(s, "install_failure")),
        "component_context": lambda s: _try(
            lambda: components.record_outcome("c", "install_failure", context=s)
        ),
        "component_session": lambda s: _try(
            lambda: components.record_outcome("c", "install_success", session_id=s)
        ),
        "run_id": lambda s: _try(lambda: trajectories.save(s, [FinalDecision(["i"])])),
        "run_project": lambda s: _try(
            lambda: trajectories.save("run", [FinalDecision(["i"])], project_id=s)
        ),
        "issue_id": lambda s: _try(lambda: trajectories.save("r2", [FinalDecision([s])])),
        "perspective": lambda s: _try(lambda: trajectories.save("r3", [LlmCall(s, 1, 1)])),
        "recalled_texts": lambda s: _try(
            lambda: trajectories.save(
                "r4", [PastVerdictsRecalled(1, [0.5], [RecalledVerdict(s, s, 0.5, s)])]
            )
        ),
        "memory_id": lambda s: _try(lambda: shadow.record(s, "ns", "src", 0.5)),
        "namespace": lambda s: _try(lambda: shadow.record("m", s, "src", 0.5)),
        "shadow_source": lambda s: _try(lambda: shadow.record("m", "ns", s, 0.5)),
        "signal_key": lambda s: _try(lambda: shadow.record("m", "ns", "src", 0.5, {s: 1.0})),
        "signal_value": lambda s: _try(lambda: shadow.record("m", "ns", "src", 0.5, {"k": s})),
    }
    for plant in paths.values():
        for kind in KINDS:
            plant(SECRETS[kind][0])
    tracker.flush()
    components.flush()
    shadow.flush()
    reports = [
        cli.invoke(args).output
        for args in (["models", "--json"], ["ledger", "stats", "--json"], ["doctor", "--json"])
    ]
    export = tmp_path / "export.jsonl"
    assert cli.invoke(["ledger", "export", "-o", str(export)]).exit_code == 0
    tracker.save_to_file(tmp_path / "profiles.json")
    components.save(tmp_path / "components.json")
    found = leaks(tmp_path, reports)
    # What could be stored was stored, scrubbed: the test looked at real rows.
    scrubbed = [r for r in store.scan(Receipt.__table__) if "[REDACTED]" in (r.error or "")]
    assert len(scrubbed) >= len(KINDS) - 1
    tracker.close()
    components.close()
    store.close()
    assert not found + leaks(tmp_path, reports)


LEDGER_FIELDS = ("receipt_id", "trace_id", "model_id", "task", "error", "routing_reason",
                 "project_id", "intent", "kind", "source", "supersedes", "signal_id")  # fmt: skip
INGEST_FIELDS = {
    "start": ("trace_id", "model_id", "task", "routing_reason", "project_id", "intent"),
    "failure": ("error",),
    "signal": ("signal_id", "kind", "verdict"),
}


def _ingest_lines() -> Iterator[str]:
    base = {
        "start": {"event": "start", "trace_id": "t", "model_id": "m", "task": "code"},
        "failure": {"event": "failure", "trace_id": "t", "error": "e", "model_id": "m",
                    "task": "code"},
        "signal": {"event": "signal", "trace_id": "t", "signal_id": "s", "kind": "conversation",
                   "verdict": "accepted", "confidence": 0.9},
    }  # fmt: skip
    n = 0
    for event, names in INGEST_FIELDS.items():
        for name in names:
            for kind in KINDS:
                n += 1
                line = {**base[event], "trace_id": f"t{n}", name: SECRETS[kind][0]}
                if event == "signal":
                    yield json.dumps({**base["start"], "trace_id": line["trace_id"]})
                yield json.dumps(line)


def test_no_secret_planted_through_ingest_or_ledger_import_reaches_a_file(
    outcomes_home: Path, tmp_path: Path
) -> None:
    assert cli.invoke(["init"]).exit_code == 0
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_ingest_lines()) + "\n")
    ledger = tmp_path / "ledger.jsonl"
    lines = []
    for i, name in enumerate(LEDGER_FIELDS):
        for j, kind in enumerate(KINDS):
            line = {"v": 1, "receipt_id": f"r{i}-{j}", "trace_id": f"t{i}-{j}", "model_id": "m",
                    "task": "code", "timestamp": 1_760_000_000.0, "success": True}  # fmt: skip
            line[name] = SECRETS[kind][0]
            lines.append(json.dumps(line))
    ledger.write_text("\n".join(lines) + "\n")
    reports = [
        cli.invoke(["ingest", str(events), "--json"]).output,
        cli.invoke(["ledger", "import", str(ledger), "--json"]).output,
        cli.invoke(["models", "--json"]).output,
    ]
    # The planted files themselves hold the secrets: only what outcomes wrote counts.
    events.unlink()
    ledger.unlink()
    export = tmp_path / "export.jsonl"
    assert cli.invoke(["ledger", "export", "-o", str(export)]).exit_code == 0
    assert not leaks(tmp_path, reports)


@pytest.mark.parametrize("kind", KINDS)
def test_every_planted_kind_is_caught_by_redaction_in_free_text(kind: str) -> None:
    from outcomes._redact import redact

    text, parts = SECRETS[kind]
    out = redact(f"request failed: {text} (retrying)", limit=10_000)
    for part in parts:
        assert part not in out


def test_refused_input_is_not_echoed_into_logs_or_terminal_reports(
    outcomes_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.WARNING):
        for kind in KINDS:
            tracker = OutcomeTracker()
            tracker.record_start("m", SECRETS[kind][0], "r")  # an invalid task name
            tracker.record_start("m", "code", "r", trace_id=SECRETS[kind][0])
    assert caplog.records  # the refusals were logged...
    assert not leaks(tmp_path, [caplog.text])  # ...without the values
    assert cli.invoke(["init"]).exit_code == 0
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_ingest_lines()) + "\n")
    ledger = tmp_path / "ledger.jsonl"
    bad = [{"v": 1, "receipt_id": SECRETS[k][0], "timestamp": "x"} for k in KINDS]
    ledger.write_text("\n".join(json.dumps(b) for b in bad) + "\n")
    shown = [
        cli.invoke(["ingest", str(events)]).output,
        cli.invoke(["ledger", "import", str(ledger)]).output,
    ]
    events.unlink()
    ledger.unlink()
    assert "line " in shown[0]  # the refused lines were reported...
    assert "line " in shown[1]
    assert not leaks(tmp_path, shown)  # ...without their secrets
