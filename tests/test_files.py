"""File safety as a class: links, modes, folders, quarantine and stale temporary files,
for every file outcomes writes (the store, profile files, component files, caches, exports)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from outcomes import OutcomeTracker
from outcomes._files import atomic_write, check_path, clean_stale_tmp, quarantine
from outcomes.components import ComponentTracker
from outcomes.errors import StoreUnavailableError, UnsafePathError
from outcomes.records import Receipt
from outcomes.store import MemoryStore, SQLiteStore, open_store
from outcomes.testing import cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _foreign_db(path: Path) -> bytes:
    """Another application's SQLite file, mode 0644."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE theirs (x)")
    conn.commit()
    conn.close()
    path.chmod(0o644)
    return path.read_bytes()


def test_default_store_path_that_is_a_symlink_is_refused_and_the_target_untouched(
    outcomes_home: Path, tmp_path: Path
) -> None:
    outcomes_home.mkdir()
    other = tmp_path / "other-app.db"
    before = _foreign_db(other)
    (outcomes_home / "outcomes.db").symlink_to(other)
    with pytest.raises(StoreUnavailableError, match="symlink"):
        open_store()
    result = cli.invoke(["init"])
    assert result.exit_code == 3
    assert "symlink" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert other.read_bytes() == before
    assert _mode(other) == 0o644


def test_default_store_path_resolving_outside_home_is_refused(
    outcomes_home: Path, tmp_path: Path
) -> None:
    outcomes_home.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(UnsafePathError, match="outside"):
        check_path(outcomes_home / ".." / "elsewhere" / "x.db", root=outcomes_home, explicit=False)


def test_an_explicit_symlink_is_opened_as_named_and_its_mode_is_kept(tmp_path: Path) -> None:
    other = tmp_path / "other-app.db"
    _foreign_db(other)
    link = tmp_path / "link.db"
    link.symlink_to(other)
    store = open_store(f"sqlite:///{link}")
    store.write([Receipt("r1", "t", "m", "code", 1.0)])
    store.close()
    assert _mode(other) == 0o644  # outcomes never chmods a file it did not create


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    SQLiteStore(db).close()
    db.chmod(0o640)
    SQLiteStore(db).close()
    assert _mode(db) == 0o640


@pytest.mark.parametrize("explicit", [True, False])
def test_a_dangling_symlink_is_a_clear_error(
    outcomes_home: Path, tmp_path: Path, explicit: bool
) -> None:
    outcomes_home.mkdir()
    link = outcomes_home / "outcomes.db"
    link.symlink_to(tmp_path / "gone.db")
    with pytest.raises(StoreUnavailableError, match="dangling"):
        open_store(f"sqlite:///{link}" if explicit else None)
    result = cli.invoke(["init"] + (["--db", f"sqlite:///{link}"] if explicit else []))
    assert result.exit_code == 3
    assert "dangling" in " ".join(result.output.split())
    assert not (tmp_path / "gone.db").exists()


def test_every_writer_of_files_refuses_a_dangling_link(tmp_path: Path) -> None:
    link = tmp_path / "f.json"
    link.symlink_to(tmp_path / "gone")
    tracker = OutcomeTracker()
    tracker.record_complete(tracker.record_start("m", "code", "r"), 1.0, 1, 1)
    with pytest.raises(UnsafePathError):
        tracker.save_to_file(link)
    components = ComponentTracker(MemoryStore())
    components.record_outcome("a", "install_success")
    with pytest.raises(UnsafePathError):
        components.save(link)
    assert not (tmp_path / "gone").exists()


def test_files_are_written_0600_into_existing_folders_only(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    old = os.umask(0)
    try:
        atomic_write(target, "{}")
    finally:
        os.umask(old)
    assert _mode(target) == 0o600
    with pytest.raises(UnsafePathError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "deeper" / "a.json", "{}")
    assert not (tmp_path / "missing").exists()


def test_a_link_outcomes_did_not_expect_is_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "cache.json"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symlink"):
        atomic_write(link, "{}", root=tmp_path, explicit=False)
    assert victim.read_text() == "keep me"


def test_ledger_export_is_owner_only_and_needs_an_existing_folder(
    outcomes_home: Path, tmp_path: Path
) -> None:
    assert cli.invoke(["init"]).exit_code == 0
    out = tmp_path / "full.jsonl"
    old = os.umask(0o022)
    try:
        result = cli.invoke(["ledger", "export", "-o", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert _mode(out) == 0o600
    missing = tmp_path / "a" / "b" / "c.jsonl"
    result = cli.invoke(["ledger", "export", "-o", str(missing)])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())
    assert not (tmp_path / "a").exists()


def test_profiles_rebuild_out_needs_an_existing_folder(outcomes_home: Path, tmp_path: Path) -> None:
    assert cli.invoke(["init"]).exit_code == 0
    result = cli.invoke(["profiles", "rebuild", "--out", str(tmp_path / "x" / "p.json")])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_two_quarantines_in_the_same_second_keep_both_files(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    kept = []
    for text in ("first", "second", "third"):
        path.write_text(text)
        kept.append(quarantine(path))
    assert len(set(kept)) == 3
    assert sorted(p.read_text() for p in kept) == ["first", "second", "third"]


@pytest.mark.parametrize("garbage", ["{", "[" * 30_000 + "]" * 30_000, "\xff", '{"format": 1}'])
def test_corrupt_profile_files_are_quarantined_under_unique_names(
    tmp_path: Path, garbage: str
) -> None:
    path = tmp_path / "profiles.json"
    for _ in range(2):
        path.write_text(garbage, encoding="utf-8", errors="surrogateescape")
        assert OutcomeTracker().load_from_file(path) == 0
    assert len(list(tmp_path.glob("profiles.json.corrupt-*"))) == 2
    assert not path.exists()


def test_stale_temporary_files_of_killed_saves_are_cleaned_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    stale = tmp_path / ".profiles.json.abc123.tmp"
    fresh = tmp_path / ".profiles.json.def456.tmp"
    foreign = tmp_path / ".profiles.json.link.tmp"
    stale.write_text("half a save")
    fresh.write_text("a save in progress")
    keep = tmp_path / "keep"
    keep.write_text("not ours")
    foreign.symlink_to(keep)
    old = time.time() - 3_600
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old), follow_symlinks=False)
    OutcomeTracker().load_from_file(path)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a live writer
    assert foreign.is_symlink()
    assert keep.read_text() == "not ours"
    assert clean_stale_tmp(path) == []


def test_component_files_clean_stale_tmp_and_quarantine_deep_json(tmp_path: Path) -> None:
    path = tmp_path / "components.json"
    stale = tmp_path / ".components.json.x.tmp"
    stale.write_text("x")
    old = time.time() - 3_600
    os.utime(stale, (old, old))
    path.write_text("[" * 30_000 + "]" * 30_000)
    tracker = ComponentTracker.load(path, store=MemoryStore())
    assert tracker.all_stats() == []
    assert not stale.exists()
    assert len(list(tmp_path.glob("components.json.corrupt-*"))) == 1


def _drain(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, got


def test_an_output_path_that_is_a_pipe_or_device_is_written_to_not_replaced(
    outcomes_home: Path, tmp_path: Path
) -> None:
    # `-o /dev/null` once replaced the machine's /dev/null with a 0600 regular file: the
    # atomic rewrite renamed its temporary file over the device node.
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader, got = _drain(fifo)
    atomic_write(fifo, b"abc")
    reader.join(timeout=10)
    assert got == [b"abc"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert cli.invoke(["init"]).exit_code == 0
    reader, got = _drain(fifo)
    result = cli.invoke(["ledger", "export", "-o", str(fifo)])
    reader.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert len(got) == 1
    assert not list(tmp_path.glob(".out.fifo.*"))  # no temporary file left beside it


def test_quarantine_moves_only_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "profiles.json"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        quarantine(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    linked = tmp_path / "link.json"
    (tmp_path / "real.json").write_text("{")
    linked.symlink_to(tmp_path / "real.json")
    assert quarantine(linked).name.startswith("link.json.corrupt-")  # as before
