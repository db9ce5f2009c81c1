"""The arithmetic of the latency sketch's log buckets, without the sketch record.

:class:`~outcomes.stats._sketch.LatencySketch` keeps ``index -> count`` buckets; what
follows from them (the bucket of a value, the value of a bucket, the stored text form
parsed, quantiles read off the counts) lives here as plain functions, so that a reader
that only needs a quantile of stored buckets (``outcomes models --json``, answered from
rollup rows by :mod:`outcomes.inference._board`) loads neither the record machinery
nor the sketch class. The sketch's methods call these same functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, cast

RELATIVE_ACCURACY = 0.01
"""Every quantile is within 1% (relative) of the sample quantile it estimates."""
GAMMA = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
MIN_VALUE = 1e-9
"""Values at or below this count in the zero bucket (reported as 0)."""


def bucket_of(value: float) -> int:
    """The bucket index of ``value`` (> MIN_VALUE)."""
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The value reported for bucket ``index`` (within the accuracy of all it holds)."""
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


def check_q(q: float) -> None:
    """Raise ``ValueError`` unless ``q`` is a quantile's fraction (0..1)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be in [0, 1]")


def quantiles_of(
    buckets: Mapping[int, int], zero: int, n: int, max_value: float, qs: Sequence[float]
) -> list[float | None]:
    """The ``qs`` quantiles (each 0..1, else ``ValueError``) of a sketch's counts, in one
    walk over its buckets: ``None`` each when ``n <= 0``; the rank of ``q`` is
    ``q * (n - 1)``, the value of a bucket is capped at ``max_value``."""
    for q in qs:
        check_q(q)
    if not qs or n <= 0:
        return [None] * len(qs)
    out: list[float | None] = [max_value] * len(qs)
    wanted = sorted((q * (n - 1), k) for k, q in enumerate(qs))
    seen, j = zero, 0
    while j < len(wanted) and seen > wanted[j][0]:
        out[wanted[j][1]] = 0.0
        j += 1
    for i in sorted(buckets) if j < len(wanted) else ():
        seen += buckets[i]
        while seen > wanted[j][0]:
            out[wanted[j][1]] = min(bucket_value(i), max_value)
            j += 1
            if j == len(wanted):
                return out
    return out


def decode_buckets(text: str | None) -> dict[int, int]:
    """Parse the stored ``"i:c,i:c"`` text of a sketch's buckets (repeated indices, as in
    many rollup rows' texts joined, add up); raises ``ValueError`` naming what is wrong."""
    if not text:
        return {}
    try:
        # What a snapshot refresh and ``outcomes models --json`` spend on. Long texts
        # (many rollup rows' sketches joined) are parsed by NumPy in C, short ones by the
        # C JSON scanner when they are plain integers, else one int() per number.
        nums = (_parse_long(text) if len(text) > _LONG else _scan_ints(text)) or list(
            map(int, text.replace(":", ",").split(","))
        )
    except ValueError:
        raise ValueError(f"bad sketch buckets {text[:80]!r} (want index:count,...)") from None
    if text.count(":") * 2 != len(nums) or text.count(",") + 1 != len(nums) // 2:
        raise ValueError(f"bad sketch buckets {text[:80]!r} (want index:count,...)")
    out = dict(zip(nums[::2], nums[1::2], strict=True))
    if len(out) * 2 != len(nums):  # a repeated index (sketches joined): add its counts
        import numpy as np  # only here: the joined texts of many rollup rows

        try:
            indices = np.asarray(nums[::2], dtype=np.int64)
            counts = np.asarray(nums[1::2], dtype=np.int64)
            exact = max(int(counts.max()), -int(counts.min())) * len(counts) < 2**63
        except OverflowError:  # a number past 64 bits
            exact = False
        if not exact:  # NumPy's sums could wrap: Python's
            out = {}
            for i, c in zip(nums[::2], nums[1::2], strict=True):
                out[i] = out.get(i, 0) + c
            return out
        keys, where = np.unique(indices, return_inverse=True)
        sums = np.zeros(len(keys), dtype=np.int64)
        np.add.at(sums, where, counts)
        out = dict(zip(keys.tolist(), sums.tolist(), strict=True))
    return out


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    """The C JSON scanner of :mod:`_json` (no hooks: ints as ``int()`` reads them), or
    ``None`` without it; not the :mod:`json` package, whose import compiles patterns."""
    try:
        from _json import make_scanner
    except ImportError:  # an interpreter without the C accelerator
        return None

    def refuse(text: str) -> NoReturn:
        raise ValueError(text)

    class _Context:
        strict = True
        object_hook = object_pairs_hook = None
        parse_constant = parse_float = staticmethod(refuse)  # no floats, NaN or Infinity
        parse_int = int

    # Typeshed wants a ``JSONDecoder``; the scanner reads only these attributes.
    scan: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, _Context()))
    return scan


_SCAN = _scanner()
_NOT_INT = '"[{tfn'


def _scan_ints(text: str) -> list[int] | None:
    """The numbers of ``text`` (``"i:c,i:c"``) read by the C JSON scanner, about twice as
    fast as one ``int()`` each; ``None`` unless they are all plain JSON integers, whose
    value ``int()`` reads the same (anything else is left to ``int()``, which accepts
    more spellings and words the error)."""
    # Floats and constants are refused by the scanner's hooks; every other value that
    # is not an int (a string, an array, an object, true, false, null) needs one of these.
    if _SCAN is None or any(map(text.__contains__, _NOT_INT)):
        return None
    array = "[" + text.replace(":", ",") + "]"
    try:
        nums, end = _SCAN(array, 0)
    except (StopIteration, ValueError, SystemError):
        # SystemError: the scanner words a syntax error with ``json.decoder``'s
        # exception class, read from ``sys.modules``; without that module loaded (which
        # is the point of not importing :mod:`json`) it fails with this instead.
        return None
    if end != len(array):
        return None
    return cast("list[int]", nums)


_LONG = 4096
"""Texts longer than this are parsed by NumPy (about seven times faster than ``int()``)."""


_EXACT = 10**18
"""NumPy reads numbers of fewer than 19 digits exactly; it saturates larger ones."""


def _parse_long(text: str) -> list[int] | None:
    """The numbers of a long ``text`` read by NumPy; ``None`` (left to ``int()``) when
    NumPy cannot read one or one is too large for it to be read exactly (``int()``
    accepts more spellings, reads any size, and words the error)."""
    import warnings

    import numpy as np  # only here: the joined texts of many rollup rows

    with warnings.catch_warnings():
        # NumPy warns (and stops) at the first character it cannot read: make it an error.
        warnings.simplefilter("error")
        try:
            nums = np.fromstring(text.replace(":", ","), dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if len(nums) and (nums.max() >= _EXACT or nums.min() <= -_EXACT):
        return None
    return list(nums.tolist())
