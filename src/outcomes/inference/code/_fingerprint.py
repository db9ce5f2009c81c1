"""Fingerprints of code: what a suggestion looked like, without keeping its text.

A fingerprint is a set of short hashes: one per normalized non-trivial line, and one per
token shingle (a window of consecutive tokens, blind to whitespace and line breaks, so a
reformatted copy still matches). The hashes are keyed with a fixed salt and truncated to
64 bits: enough to compare code, useless for reading it back.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

SHINGLE_TOKENS = 5
"""Tokens per shingle. Five tokens is about one short statement."""

MAX_SHINGLES = 1024
"""Bottom-k sample kept per suggestion: containment estimated on a uniform sample."""

_SALT = b"outcomes.code.v1"
_TOKEN_RE = re.compile(
    r"[A-Za-z_$][A-Za-z0-9_$]*|\d[\d_.]*|\"\"\"|'''|==|!=|<=|>=|->|=>|::|&&|\|\||\S"
)
_SPACE_RE = re.compile(r"\s+")
# Lines that carry no evidence on their own: brackets, keywords alone, comment markers.
TRIVIAL_LINES = frozenset(
    {
        "",
        "{",
        "}",
        "};",
        "(",
        ")",
        "[",
        "]",
        "});",
        "})",
        ");",
        "else:",
        "else {",
        "} else {",
        "try:",
        "finally:",
        "pass",
        "return",
        "break",
        "continue",
        "end",
        '"""',
        "'''",
        "#",
        "//",
        "/*",
        "*/",
        "*",
    }
)


def _h(data: str) -> str:
    return hashlib.blake2b(
        data.encode("utf-8", "surrogatepass"), digest_size=8, key=_SALT
    ).hexdigest()


def normalize_line(line: str) -> str:
    """Collapse whitespace and strip the line; indentation and spacing never matter."""
    return _SPACE_RE.sub(" ", line.strip())


def tokens(text: str) -> list[str]:
    """Split code into identifier, number and punctuation tokens (whitespace dropped)."""
    return _TOKEN_RE.findall(text)


def line_hashes(text: str) -> set[str]:
    """Hashes of every normalized, non-trivial line of ``text``."""
    out: set[str] = set()
    for raw in text.splitlines():
        norm = normalize_line(raw)
        if norm in TRIVIAL_LINES or len(norm) < 3:
            continue
        out.add(line_hash(norm))
    return out


def line_hash(norm: str) -> str:
    """The hash of one normalized line (as in :func:`line_hashes`)."""
    return _h("L" + norm)


def shingle_hashes(text: str, k: int = SHINGLE_TOKENS) -> set[str]:
    """Hashes of every window of ``k`` consecutive tokens (none if ``text`` is shorter:
    a shorter window could never be found among the windows of a larger file).

    Tokens as in :func:`token_hash`: a formatter's trailing comma changes no window.
    """
    toks = _code_tokens(text)
    if len(toks) < k:
        return set()
    return {_h("S" + "\x1f".join(toks[i : i + k])) for i in range(len(toks) - k + 1)}


def _code_tokens(text: str) -> list[str]:
    """Tokens without a comma right before a closing bracket (formatters add and drop it)
    or at the very end (a snippet that stops inside an argument list)."""
    toks = tokens(text)
    return [
        t
        for i, t in enumerate(toks)
        if not (t == "," and (i + 1 == len(toks) or toks[i + 1] in ")]}"))
    ]


def token_hash(text: str) -> str:
    """One hash of the whole token stream (whitespace-blind identity of a code span).

    A comma right before a closing bracket is dropped: formatters add and remove it.
    """
    return _h("T" + "\x1f".join(_code_tokens(text)))


def bottom_k(hashes: Iterable[str], k: int = MAX_SHINGLES) -> list[str]:
    """The ``k`` smallest hashes, sorted: a uniform sample that is stable across runs."""
    return sorted(set(hashes))[:k]


@dataclass(frozen=True, slots=True)
class TextPrint:
    """The fingerprint of one piece of code: line hashes and shingle hashes."""

    lines: frozenset[str]
    shingles: frozenset[str]

    @classmethod
    def of(cls, text: str) -> TextPrint:
        return cls(frozenset(line_hashes(text)), frozenset(shingle_hashes(text)))


def containment(part: Iterable[str], whole: frozenset[str] | set[str]) -> float | None:
    """Share of ``part`` found in ``whole``; ``None`` when ``part`` is empty."""
    items = list(part)
    if not items:
        return None
    return sum(1 for h in items if h in whole) / len(items)


SKETCH_SIZE = 32
"""MinHash values per line sketch; each keeps its lowest 8 bits (one byte)."""

_HASH_COMMENT = re.compile(r"^#")
_SLASH_COMMENT = re.compile(r"^(//|/\*|\*)")
_ANY_COMMENT = re.compile(r"^(#|//|/\*|\*)")
_SKETCH_VALUES = struct.Struct(f"<{SKETCH_SIZE}H")
_C_LIKE = ("javascript", "typescript", "tsx", "go", "java", "rust")
_COMMENTS = {"python": _HASH_COMMENT} | dict.fromkeys(_C_LIKE, _SLASH_COMMENT)


def line_weight(norm: str, language: str | None = None) -> int:
    """How much evidence one normalized line carries: its tokens, capped at 8.

    Comment-only lines weigh nothing: assistants add and people strip them freely, and
    a placeholder such as ``# ... rest unchanged`` must not decide anything. What a
    comment is depends on ``language`` (``#`` starts a Go line in a shell template).
    """
    if _COMMENTS.get(language or "", _ANY_COMMENT).match(norm):
        return 0
    return min(len(tokens(norm)), 8)


def line_sketch(norm: str) -> str:
    """A b-bit MinHash of the line's token 1-, 2- and 3-grams (hex, 2 chars a value).

    Two sketches agree in about ``J + (1 - J) / 256`` of their positions, ``J`` being the
    Jaccard similarity of the two lines' token sets: near lines can be recognised without
    keeping their tokens.
    """
    toks = tokens(norm)
    feats = {"\x1f".join(toks[i : i + n]) for n in (1, 2, 3) for i in range(len(toks) - n + 1)}
    if not feats:
        return "ff" * SKETCH_SIZE
    # One 64-byte digest per feature gives 32 independent 16-bit hash values.
    rows = [
        _SKETCH_VALUES.unpack(
            hashlib.blake2b(f.encode("utf-8", "surrogatepass"), digest_size=64, key=_SALT).digest()
        )
        for f in feats
    ]
    return bytes(min(column) & 0xFF for column in zip(*rows, strict=True)).hex()


def sketch_similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of the token sets behind two sketches (0..1)."""
    if len(a) != len(b) or not a:
        return 0.0
    n = len(a) // 2
    same = sum(1 for i in range(0, 2 * n, 2) if a[i : i + 2] == b[i : i + 2])
    chance = 1 / 256
    return max(0.0, (same / n - chance) / (1 - chance))


def _mix(v: int) -> int:
    """splitmix64's finaliser: a bijection of 64-bit integers that spreads every bit."""
    v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    v = (v ^ (v >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return v ^ (v >> 31)


class LineFilter:
    """A Bloom filter of line hashes: "was this line in the file?" without the lines.

    About 1% false positives (10 bits and 7 probes per line). Encoded as text so that it
    can be stored in a JSON column.
    """

    __slots__ = ("bits", "k", "m")

    def __init__(self, m: int, k: int = 7, bits: bytearray | None = None) -> None:
        self.m = max(64, m)
        self.k = k
        self.bits = bits if bits is not None else bytearray((self.m + 7) // 8)

    @classmethod
    def of(cls, hashes: Iterable[str]) -> LineFilter:
        items = list(set(hashes))
        f = cls(10 * len(items))
        for h in items:
            f.add(h)
        return f

    def _probes(self, h: str) -> Iterable[int]:
        # Mixed, so that probes stay spread even for hashes that are not uniform.
        v = _mix(int(h[:16], 16))
        h1, h2 = v & 0xFFFFFFFF, (_mix(v) >> 32) | 1
        return ((h1 + i * h2) % self.m for i in range(self.k))

    def add(self, h: str) -> None:
        for p in self._probes(h):
            self.bits[p >> 3] |= 1 << (p & 7)

    def __contains__(self, h: object) -> bool:
        if not isinstance(h, str):
            return False
        return all(self.bits[p >> 3] & (1 << (p & 7)) for p in self._probes(h))

    def encode(self) -> str:
        return f"{self.m}:{self.k}:{base64.b64encode(bytes(self.bits)).decode('ascii')}"

    @classmethod
    def decode(cls, text: str) -> LineFilter:
        """Rebuild a filter from :meth:`encode`; raises ``ValueError`` when malformed."""
        m_s, k_s, data = text.split(":", 2)
        m, k = int(m_s), int(k_s)
        bits = bytearray(base64.b64decode(data.encode("ascii"), validate=True))
        if not (64 <= m <= 8 * len(bits) and 1 <= k <= 16):
            raise ValueError("malformed line filter")
        return cls(m, k, bits)
