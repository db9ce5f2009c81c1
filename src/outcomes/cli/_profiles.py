"""The ``outcomes profiles`` group: model profiles rebuilt from the stored receipts."""

from __future__ import annotations

import time
from pathlib import Path

from outcomes._files import atomic_write
from outcomes.cli import _common as cli
from outcomes.cli._framework import Option
from outcomes.cli._models import profile_cache
from outcomes.inference import rebuild
from outcomes.inference._files import state_file_text
from outcomes.store import rebuild_rollups

app = cli.new_app(
    help="Model profiles: rebuild them from the stored receipts.", no_args_is_help=True
)


@app.command("rebuild")
def rebuild_cmd(
    out: Path | None = Option(None, "--out", help="Also save the profiles to this file."),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Rebuild the store's rollups from every stored receipt, and fold fresh profiles.

    Also drops the cache that ``outcomes models`` kept between runs.
    """
    cache = profile_cache()
    if cache is not None:
        cache.unlink(missing_ok=True)
    started = time.perf_counter()
    with cli.opened_store(db) as store:
        rebuild_rollups(store)
        state = rebuild(store)
    seconds = time.perf_counter() - started
    if out is not None:
        try:
            atomic_write(out, state_file_text(state))
        except OSError as exc:
            raise cli.fail(f"cannot write {out}: {exc.strerror or exc}", cli.EXIT_USAGE) from None
    summary = {
        "receipts": state.receipts,
        "models": len(state.model_ids()),
        "cells": len(state.parts),
        "seconds": round(seconds, 3),
        "saved_to": None if out is None else str(out),
    }
    if json:
        cli.print_json(summary)
        return
    cli.console.print(
        f"rebuilt profiles of {summary['models']} models ({summary['cells']} model/task/project "
        f"cells) from {summary['receipts']} receipts in {seconds:.2f} s",
        highlight=False,
    )
