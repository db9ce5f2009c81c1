"""``outcomes signals``: pending code suggestions and recent code and conversation verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outcomes.cli import _common as cli
from outcomes.cli._code import finding_json, findings_table, suggestion_json
from outcomes.cli._framework import Exit, Option
from outcomes.inference.code import CodeAdoption, CodeSuggestion
from outcomes.inference.conversation import ConversationRecord, ConversationSignals

if TYPE_CHECKING:
    from rich.table import Table

app = cli.new_app()

LimitOption = Option(20, "--limit", min=1, max=10_000, help="Rows per section.")


_conversation_json = cli.json_shape(
    "signal_id trace_id verdict confidence cues turns timestamp",
    cues=lambda c: c.cues.split(",") if c.cues else [],
)


def pending_table(rows: list[CodeSuggestion], title: str = "pending code suggestions") -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("trace", "file", "symbols", "language", "status"):
        table.add_column(col, no_wrap=col != "symbols")
    for s in rows:
        syms = ", ".join(d["name"] for d in s.symbols[:4]) + ("…" if len(s.symbols) > 4 else "")
        table.add_row(s.trace_id[-8:], s.path, syms or "-", s.language, s.status)
    return table


def conversation_table(rows: list[ConversationRecord]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title="conversation verdicts", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("trace", "verdict", "confidence", "cues"):
        table.add_column(col, no_wrap=col != "cues")
    for c in rows:
        table.add_row(c.trace_id[-8:], c.verdict, cli.num(c.confidence), c.cues.replace(",", ", "))
    return table


@app.command("signals")
def signals(
    limit: int = LimitOption, db: str | None = cli.DbOption, as_json: bool = cli.JsonOption
) -> None:
    """Pending code suggestions and recent code and conversation verdicts."""
    with cli.opened_store(db) as store:
        adoption = CodeAdoption(store)
        pending = list(adoption.suggestions(status="pending", limit=limit))
        found = list(adoption.findings(limit=limit))
        convo = ConversationSignals(store=store).recent(limit)
    if as_json:
        cli.print_json(
            {
                "pending": [suggestion_json(s) for s in pending],
                "code": [finding_json(f) for f in found],
                "conversation": [_conversation_json(c) for c in convo],
            }
        )
        return
    cli.console.print(pending_table(pending))
    cli.console.print(findings_table(found))
    cli.console.print(conversation_table(convo))
    raise Exit(cli.EXIT_OK)
