"""Time-ordered ids: valid UUIDv7 text, sortable by time, unique across processes."""

from __future__ import annotations

import os
import uuid

import pytest

from outcomes._ids import derived_id, new_id


def test_ids_are_uuid7_and_increase() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    u = uuid.UUID(ids[0])
    assert u.version == 7
    assert u.variant == uuid.RFC_4122


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_repeats_the_parents_ids() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, "\n".join(new_id() for _ in range(2_000)).encode())
        os._exit(0)
    os.close(w)
    mine = {new_id() for _ in range(2_000)}
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    theirs = set(b"".join(chunks).decode().split("\n"))
    assert len(theirs) == 2_000
    assert not mine & theirs


def test_derived_ids_are_deterministic_and_distinct() -> None:
    assert derived_id("trace-1", "sig-1") == derived_id("trace-1", "sig-1")
    assert derived_id("trace-1", "sig-1") != derived_id("trace-1", "sig-2")
    uuid.UUID(derived_id("x"))
