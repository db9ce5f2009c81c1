"""Fingerprints of code: what a suggestion looked like, without keeping its text.

A fingerprint is a set of short hashes: one per normalized non-trivial line, and one per
token shingle (a window of consecutive tokens, blind to whitespace and line breaks, so a
reformatted copy still matches). The hashes are keyed with a fixed salt and truncated to
64 bits: enough to compare code, useless for reading it back.
"""

from __future__ import annotations

import hashlib
import re
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
_TRIVIAL = frozenset(
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
        if norm in _TRIVIAL or len(norm) < 3:
            continue
        out.add(_h("L" + norm))
    return out


def shingle_hashes(text: str, k: int = SHINGLE_TOKENS) -> set[str]:
    """Hashes of every window of ``k`` consecutive tokens (none if ``text`` is shorter:
    a shorter window could never be found among the windows of a larger file)."""
    toks = tokens(text)
    if len(toks) < k:
        return set()
    return {_h("S" + "\x1f".join(toks[i : i + k])) for i in range(len(toks) - k + 1)}


def token_hash(text: str) -> str:
    """One hash of the whole token stream (whitespace-blind identity of a code span).

    A comma right before a closing bracket is dropped: formatters add and remove it.
    """
    toks = tokens(text)
    kept = [
        t
        for i, t in enumerate(toks)
        if not (t == "," and i + 1 < len(toks) and toks[i + 1] in ")]}")
    ]
    return _h("T" + "\x1f".join(kept))


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
