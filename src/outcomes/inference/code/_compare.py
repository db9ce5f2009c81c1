"""Line by line: which of a suggestion's lines are in a file, which were edited, and
what the human wrote next to them.

A suggestion is kept as a sequence of :class:`SuggestedLine` (hash, MinHash sketch,
weight, novel or not) plus a :class:`~outcomes.inference.code._fingerprint.LineFilter`
of the file it was made for. :func:`compare` reads one candidate text against that:

* a novel line is *exact* when the candidate holds the same normalized line;
* else *edited* when one of the candidate's new lines (lines the baseline did not have)
  has a similar token set (one constant or one name changed);
* candidate lines that are new, match no suggested line and sit inside or right next to
  the suggestion's place in the file are *added*: the human wrote them beside it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from outcomes.inference.code._fingerprint import (
    SKETCH_SIZE,
    TRIVIAL_LINES,
    LineFilter,
    line_hash,
    line_sketch,
    line_weight,
    normalize_line,
    sketch_similarity,
)

_HEX16 = re.compile(r"[0-9a-f]{16}")
_SKETCH = re.compile(rf"[0-9a-f]{{{2 * SKETCH_SIZE}}}")

NEAR_AT = 0.5
"""Estimated token-set similarity from which a new line counts as an edit of a suggested one."""
GAP = 4
"""Lines between two matched lines that still belong to one place in the file."""


@dataclass(frozen=True, slots=True)
class SuggestedLine:
    """One non-trivial line of a suggestion, in order, without its text."""

    hash: str
    sketch: str
    weight: int
    novel: bool

    def to_json(self) -> list[object]:
        return [self.hash, self.sketch, self.weight, int(self.novel)]

    @classmethod
    def from_json(cls, data: object) -> SuggestedLine:
        """Rebuild one stored line; raises ``ValueError`` unless it is well formed."""
        if not isinstance(data, list) or len(data) != 4:
            raise ValueError("a stored line is [hash, sketch, weight, novel]")
        h, sk, w, n = data
        if not (isinstance(h, str) and _HEX16.fullmatch(h)):
            raise ValueError("line hash must be 16 hex digits")
        if not (isinstance(sk, str) and _SKETCH.fullmatch(sk)):
            raise ValueError(f"line sketch must be {2 * SKETCH_SIZE} hex digits")
        if not (type(w) is int and 0 <= w <= 64) or n not in (0, 1, True, False):
            raise ValueError("line weight must be 0..64 and novel 0 or 1")
        return cls(h, sk, w, bool(n))


@dataclass(frozen=True, slots=True)
class TextMatch:
    """How much of a suggestion's novel part a text holds (weighted shares, 0..1)."""

    exact: float
    """Share of the novel lines present as suggested."""
    near: float
    """Share present as suggested or as an edited line."""
    edited: int
    """Novel lines present only as an edited line."""
    added: int
    """New lines the human wrote inside or right next to the suggestion."""


def sequence(
    code: str, baseline: LineFilter | None, language: str | None = None
) -> tuple[SuggestedLine, ...]:
    """The suggestion's non-trivial lines in order; novel = not in the baseline."""
    out: list[SuggestedLine] = []
    for raw in code.splitlines():
        norm = normalize_line(raw)
        if norm in TRIVIAL_LINES or len(norm) < 3:
            continue
        h = line_hash(norm)
        novel = baseline is None or h not in baseline
        out.append(SuggestedLine(h, line_sketch(norm), line_weight(norm, language), novel))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TextLine:
    norm: str
    hash: str | None
    """``None`` for a trivial line (a bracket, a keyword alone, a blank)."""
    blank: bool


def text_lines(text: str) -> list[TextLine]:
    """Every line of ``text``, normalized, with its hash (``None`` when trivial)."""
    out = []
    for raw in text.splitlines():
        norm = normalize_line(raw)
        trivial = norm in TRIVIAL_LINES or len(norm) < 3
        out.append(TextLine(norm, None if trivial else line_hash(norm), not norm))
    return out


def compare(
    seq: tuple[SuggestedLine, ...], baseline: LineFilter, lines: list[TextLine]
) -> TextMatch | None:
    """Measure a text (its :func:`text_lines`) against a suggestion; ``None`` when
    nothing in the suggestion was novel."""
    novel: dict[str, SuggestedLine] = {}
    for s in seq:
        if s.novel:
            novel.setdefault(s.hash, s)
    total = sum(s.weight for s in novel.values())
    if not total:
        return None
    where: dict[str, list[int]] = {}
    for i, ln in enumerate(lines):
        if ln.hash is not None:
            where.setdefault(ln.hash, []).append(i)
    suggested = {s.hash for s in seq}
    fresh = [
        i
        for i, ln in enumerate(lines)
        if ln.hash is not None and ln.hash not in baseline and ln.hash not in suggested
    ]
    exact = {h for h in novel if h in where}
    near = _edits(novel, exact, lines, fresh)
    matched = {p: h for h in exact for p in where[h]} | {p: h for h, p in near.items()}
    lo, hi = _place(matched, novel)
    # An edited line counts where the suggestion landed, not anywhere in the file: lines
    # alike by chance (``if err != nil {``) are scattered, an edit sits among the rest.
    near = {h: p for h, p in near.items() if lo <= p <= hi}
    if not exact and not near:
        return TextMatch(0.0, 0.0, 0, 0)
    added = 0
    if lo <= hi:
        used = set(near.values())
        lo, hi = _span(seq, lines, lo, hi, used)
        added = sum(
            1 for i in fresh if lo <= i <= hi and i not in used and line_weight(lines[i].norm) > 0
        )
        added += _beside(lines, hi + 1, 1, baseline, suggested, used)
        added += _beside(lines, lo - 1, -1, baseline, suggested, used)
    exact_w = sum(novel[h].weight for h in exact)
    near_w = exact_w + sum(novel[h].weight for h in near)
    return TextMatch(exact_w / total, near_w / total, len(near), added)


def _edits(
    novel: dict[str, SuggestedLine], exact: set[str], lines: list[TextLine], fresh: list[int]
) -> dict[str, int]:
    """For each novel line not found as such, the most similar new line, if similar enough."""
    near: dict[str, int] = {}
    sketches: dict[int, str] = {}
    for h, s in novel.items():
        if h in exact:
            continue
        best, at = 0.0, -1
        for i in fresh:
            sk = sketches.get(i)
            if sk is None:
                sk = sketches[i] = line_sketch(lines[i].norm)
            sim = sketch_similarity(s.sketch, sk)
            if sim > best:
                best, at = sim, i
        if best >= NEAR_AT:
            near[h] = at
    return near


def _span(
    seq: tuple[SuggestedLine, ...], lines: list[TextLine], lo: int, hi: int, used: set[int]
) -> tuple[int, int]:
    """Where the suggestion's lines sit in order around ``lo..hi``.

    A line the suggestion repeats (``return False``) may also be found a few lines off,
    in a neighbour; the suggestion's own place is the run of its lines in its order.
    """
    reach = len(seq) + GAP
    window = [
        i for i in range(max(0, lo - reach), min(len(lines), hi + reach + 1)) if lines[i].hash
    ]
    sm = difflib.SequenceMatcher(
        None, [s.hash for s in seq], [lines[i].hash for i in window], autojunk=False
    )
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    if not blocks:
        return lo, hi
    first, last = window[blocks[0].b], window[blocks[-1].b + blocks[-1].size - 1]
    edits = [p for p in used if lo <= p <= hi]
    return min([first, *edits]), max([last, *edits])


def _place(matched: dict[int, str], novel: dict[str, SuggestedLine]) -> tuple[int, int]:
    """The span of the file where most of the suggestion's novel weight was found."""
    best: tuple[int, int, int] = (0, 0, -1)  # weight, lo, hi
    positions = sorted(matched)
    start = 0
    for k in range(1, len(positions) + 1):
        if k == len(positions) or positions[k] - positions[k - 1] > GAP:
            group = positions[start:k]
            weight = sum(novel[h].weight for h in {matched[p] for p in group})
            if weight > best[0]:
                best = (weight, group[0], group[-1])
            start = k
    return best[1], best[2]


def _beside(
    lines: list[TextLine],
    start: int,
    step: int,
    baseline: LineFilter,
    suggested: set[str],
    used: set[int],
) -> int:
    """New lines that continue the suggestion's block (up to a trivial or an old line)."""
    count = 0
    i = start
    while 0 <= i < len(lines):
        ln = lines[i]
        if ln.hash is None or ln.hash in baseline or ln.hash in suggested or i in used:
            break
        # A comment above or below is not code written beside the suggestion.
        if line_weight(ln.norm) > 0:
            count += 1
        i += step
    return count
