"""The sketch buckets' stored text parsed: the C scanner's fast path reads what ``int()`` reads."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from outcomes.stats._buckets import decode_buckets
from outcomes.stats._sketch import LatencySketch


def reference(text: str) -> dict[int, int] | str:
    """What decoding gave before the scanner: one ``int()`` per number (repeated indices
    add up), or the error."""
    if not text:
        return {}
    try:
        nums = list(map(int, text.replace(":", ",").split(",")))
    except ValueError:
        return "ValueError"
    if text.count(":") * 2 != len(nums) or text.count(",") + 1 != len(nums) // 2:
        return "ValueError"
    out: dict[int, int] = {}
    for i, c in zip(nums[::2], nums[1::2], strict=True):
        out[i] = out.get(i, 0) + c
    return out


def decoded(text: str) -> dict[int, int] | str:
    try:
        return decode_buckets(text)
    except ValueError:
        return "ValueError"


@given(st.text(alphabet='0123456789:,-+_ .eEtrufalsnNI[]{}"\n', max_size=40))
def test_any_text_decodes_as_int_reads_it(text: str) -> None:
    assert decoded(text) == reference(text)


@given(st.dictionaries(st.integers(-3000, 3000), st.integers(1, 10**12), max_size=300))
def test_encoded_buckets_decode_back(buckets: dict[int, int]) -> None:
    text = LatencySketch(buckets).encode()
    assert decode_buckets(text) == buckets == reference(text)


def test_decoding_loads_no_json_package_even_on_a_malformed_text() -> None:
    probe = (
        "import sys\nfrom outcomes.stats._buckets import decode_buckets\n"
        "assert decode_buckets('1:2,3:4') == {1: 2, 3: 4}\n"
        "for bad in ('01:2', '1:2,', '1::2'):\n"
        "    try:\n        decode_buckets(bad)\n    except ValueError:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'json'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


LONG_BODY = ",".join(f"{i}:1" for i in range(1000, 1800))  # past the NumPy path's threshold
HOSTILE_TAILS = [
    "5:99999999999999999999",  # past int64: NumPy would saturate it
    "5:9223372036854775808",
    "5:-9223372036854775809",
    "99999999999999999999:1",
    "5:1_000",  # int() reads underscores and other scripts' digits
    "5:\u0661",
    "5:\uff17",
    "5: 7",
    "5:+7",
    "5:07",
    "5:1e3",
    "5:0x10",
    "5:",
]


@given(st.sampled_from(HOSTILE_TAILS), st.booleans())
def test_a_long_text_decodes_as_int_reads_it(tail: str, tail_first: bool) -> None:
    text = f"{tail},{LONG_BODY}" if tail_first else f"{LONG_BODY},{tail}"
    assert decoded(text) == reference(text)


@given(
    st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=4),
    st.booleans(),
)
def test_repeated_indices_add_up_exactly_however_large(counts: list[int], long: bool) -> None:
    text = ",".join(f"7:{c}" for c in counts)
    if long:
        text = f"{LONG_BODY},{text}"
    assert decoded(text) == reference(text)
