"""Time-ordered identifiers, unique across processes and hosts.

Ids are UUIDv7-shaped strings: 48 bits of Unix milliseconds, then a per-process random
base plus a counter. Sorting ids as text sorts them by creation time (to the
millisecond), which keeps B-tree inserts at the right edge of the index. The random base
is redrawn after ``fork`` so a child never repeats its parent's ids.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time

_MASK_62 = (1 << 62) - 1
_time_ns = time.time_ns


class _State:
    __slots__ = ("base", "counter")

    def __init__(self) -> None:
        self.base = int.from_bytes(os.urandom(8), "big") & _MASK_62
        self.counter = itertools.count()


_state = _State()


def _reseed() -> None:
    global _state
    _state = _State()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """Return a fresh time-ordered id such as ``0193f1c2-7a4b-7c3d-8e5f-0a1b2c3d4e5f``."""
    ms = _time_ns() // 1_000_000
    # next() on itertools.count is atomic under the GIL; no lock on the hot path.
    tail = (_state.base + next(_state.counter)) & _MASK_62
    value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | (tail >> 50) << 64 | 0b10 << 62 | tail
    h = "%032x" % value  # noqa: UP031 - the fastest formatting of a 128-bit int
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def derived_id(*parts: str) -> str:
    """Return a deterministic id for an idempotency key built from ``parts``.

    Used when the same logical event may be delivered more than once (a signal with an id,
    a re-imported line): the same parts always give the same id.
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16)
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
