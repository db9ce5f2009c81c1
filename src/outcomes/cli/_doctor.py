"""``outcomes doctor``: where the store is and whether it is healthy; never changes it."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

from outcomes import config
from outcomes._schema import ALL_MIGRATIONS
from outcomes.cli import _common as cli
from outcomes.cli._framework import Exit
from outcomes.errors import OutcomesError
from outcomes.records import Receipt
from outcomes.store import open_store, path_from_url
from outcomes.store._losses import read_losses

app = cli.new_app()


def _mode(path: Path) -> str | None:
    try:
        return oct(stat.S_IMODE(path.stat().st_mode))
    except OSError:
        return None


def _doctor(db: str | None) -> tuple[dict[str, Any], list[str]]:
    url = config.db_url(db)
    problems: list[str] = []
    writer = config.WriterSettings.from_env()
    info: dict[str, Any] = {
        "store_url": url,
        "home": str(config.home()),
        "writer": {
            "queue_size": writer.queue_size,
            "batch_size": writer.batch_size,
            "flush_interval_s": writer.flush_interval,
            "durable": writer.durable,
            "overflow": writer.overflow,
        },
        # What writers of any process sharing this home lost (queue full, refused by the
        # store, thread died): noted as it happened, shown here.
        "writer_losses": read_losses(config.home()),
    }
    if url.startswith("sqlite:"):
        path = path_from_url(url)
        if path.parent.exists() and not path.parent.is_dir():
            problems.append(f"{path.parent} is a file, not a folder: the store cannot live there")
            return info, problems
        info["kind"] = "sqlite"
        info["path"] = str(path)
        info["exists"] = path.exists()
        files: dict[str, str | None] = {}
        for p in (path.parent, path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            mode = _mode(p)
            if mode is None:
                continue
            files[str(p)] = mode
            allowed = 0o700 if p.is_dir() else 0o600
            if int(mode, 8) & ~allowed & 0o777:
                problems.append(f"{p} has mode {mode}; expected {oct(allowed)} (owner only)")
        info["permissions"] = files
        if not path.exists():
            problems.append(f"no database at {path} yet; run `outcomes init`")
            return info, problems
    try:
        store = open_store(url, auto_migrate=False, create=False)
    except OutcomesError as exc:
        problems.append(str(exc))
        return info, problems
    try:
        info["kind"] = store.kind
        st = store.migration_status(ALL_MIGRATIONS)
        info["schema_version"] = st.schema_version
        info["pending_migrations"] = list(st.pending)
        info["unknown_migrations"] = list(st.unknown)
        core_pending = [n for n in st.pending if n.startswith("core.")]
        if core_pending:
            problems.append(f"core schema not applied ({core_pending}); run `outcomes init`")
        elif st.pending:
            info["notes"] = [
                f"{len(st.pending)} migrations of capabilities not used yet on this store "
                "(applied on first use, or now with `outcomes db migrate`)"
            ]
        if st.unknown:
            info.setdefault("notes", []).append(
                f"the database has migrations this version does not know: {list(st.unknown)}"
            )
        integrity = store.verify()
        info["integrity"] = "ok" if not integrity else integrity[:10]
        problems.extend(f"integrity: {p}" for p in integrity[:10])
        if not st.pending or "core.0001_receipts" not in st.pending:
            info["receipts"] = store.count(Receipt.__table__)
    except OutcomesError as exc:
        problems.append(str(exc))
    finally:
        store.close()
    return info, problems


def _describe_loss(note: dict[str, Any]) -> str:
    when = note.get("at")
    stamp = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        if isinstance(when, int | float)
        else "?"
    )
    labels = (
        ("dropped", "dropped (queue full)"),
        ("failed", "refused by the store"),
        ("writer_died", "writer thread deaths"),
    )
    parts = [f"{note.get(key)} {label}" for key, label in labels if note.get(key)]
    error = f"; {note['error']}" if note.get("error") else ""
    return f"{stamp} pid {note.get('pid')} on {note.get('store')}: {', '.join(parts)}{error}"


@app.command("doctor")
def doctor(db: str | None = cli.DbOption, json: bool = cli.JsonOption) -> None:
    """Check the store: where it is, schema version, migrations, permissions, integrity."""
    info, problems = _doctor(db)
    info["problems"] = problems
    info["ok"] = not problems
    if json:
        cli.print_json(info)
    else:
        from rich.table import Table

        table = Table(show_header=False, title="outcomes doctor")
        table.add_column("what", style="bold")
        table.add_column("value")
        for key in ("kind", "store_url", "home", "schema_version", "receipts", "integrity"):
            if key in info:
                table.add_row(key, str(info[key]))
        table.add_row("pending migrations", str(len(info.get("pending_migrations", []))))
        for path, mode in info.get("permissions", {}).items():
            table.add_row("mode", f"{mode}  {path}")
        w = info["writer"]
        table.add_row(
            "writer",
            f"queue {w['queue_size']}, batch {w['batch_size']}, "
            f"every {w['flush_interval_s']}s, durable={w['durable']}",
        )
        cli.console.print(table)
        for loss in info["writer_losses"]:
            cli.console.print(f"[yellow]writer loss:[/] {_describe_loss(loss)}", highlight=False)
        for p in problems:
            cli.console.print(f"[red]problem:[/] {p}", soft_wrap=True)
        for note in info.get("notes", []):
            cli.console.print(f"[dim]note: {note}[/]")
        if not problems:
            cli.console.print("[green]no problems found[/]")
    raise Exit(cli.EXIT_PROBLEMS if problems else cli.EXIT_OK)
