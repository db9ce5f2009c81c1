"""Compare a suggestion's fingerprint with one version of a file: how much of it is there.

Pure functions, no git: :func:`fingerprint` turns suggested code (and the file it was
meant for, as it was then) into a :class:`SuggestionPrint`; :func:`assess` measures one
candidate text against it; :func:`decide` turns the measurement into a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from outcomes.inference.code._compare import SuggestedLine, compare, sequence, text_lines
from outcomes.inference.code._fingerprint import (
    LineFilter,
    TextPrint,
    bottom_k,
    containment,
    line_hashes,
    shingle_hashes,
)
from outcomes.inference.code._structure import Symbol, symbols
from outcomes.records import CodeVerdict

APPLIED_AT = 0.8
"""Share of the novel fingerprint present for ``applied``, for suggestions stored before
their line sequence was kept (see :func:`decide`); with it, ``applied`` needs all of it."""
MODIFIED_AT = 0.3
"""Share present (exactly or as edited lines) for ``modified``."""

_ADOPTION_SIGNS = frozenset(
    {
        CodeVerdict.APPLIED,
        CodeVerdict.SYMBOL_ADDED,
        CodeVerdict.SIGNATURE_CHANGED,
        CodeVerdict.BODY_MODIFIED,
    }
)


_CHANGED_SIGNS = frozenset({CodeVerdict.SIGNATURE_CHANGED, CodeVerdict.BODY_MODIFIED})
"""A suggested symbol that is there but not as suggested: the code was adapted."""


@dataclass(frozen=True, slots=True)
class SuggestionPrint:
    """What is kept of a suggestion: novel line and shingle hashes, and symbols."""

    lines: frozenset[str]
    shingles: frozenset[str]
    symbols: tuple[Symbol, ...] = ()
    baseline_symbols: tuple[Symbol, ...] = ()
    structural: bool = False
    sequence: tuple[SuggestedLine, ...] = ()
    """Every non-trivial line in order (empty for prints stored before it was kept)."""
    baseline: LineFilter | None = None
    """The lines of the file as it was when the suggestion was made."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """One candidate text measured against a suggestion.

    ``score`` is the larger of the line share and the shingle share (shingles survive
    reformatting, lines survive reordering); ``None`` when the suggestion had nothing
    novel. ``structure`` lists ``(symbol, verdict)`` for suggested symbols the user acted on.
    """

    line_share: float | None
    shingle_share: float | None
    structure: tuple[tuple[str, CodeVerdict], ...] = field(default=())
    exact_share: float | None = None
    """Weighted share of the novel lines present as suggested (``None``: not measured)."""
    near_share: float | None = None
    """Weighted share present as suggested or edited (one constant, one name changed)."""
    added: int = 0
    """Lines the human wrote inside or right next to the suggestion."""
    edited: int = 0
    """Suggested lines present only as an edited version (comments included)."""

    @property
    def score(self) -> float | None:
        shares = [s for s in (self.line_share, self.shingle_share) if s is not None]
        return max(shares) if shares else None


def fingerprint(code: str, language: str | None, baseline: str | None = None) -> SuggestionPrint:
    """Fingerprint ``code`` relative to ``baseline`` (the file before the suggestion).

    Only what is novel counts: lines and shingles already in ``baseline`` are dropped, so a
    suggestion that rewrites two lines of a function is judged on those two lines.
    """
    base_lines = line_hashes(baseline) if baseline else set()
    base_filter = LineFilter.of(base_lines)
    base_shingles = shingle_hashes(baseline) if baseline else set()
    lines = frozenset(line_hashes(code) - base_lines)
    shingles = frozenset(bottom_k(shingle_hashes(code) - base_shingles))
    syms: list[Symbol] | None = symbols(code, language) if language else None
    base_syms: list[Symbol] = []
    if syms and baseline and language:
        names = {s.name for s in syms}
        shorts = {s.short_name for s in syms}
        base_syms = [
            s
            for s in symbols(baseline, language) or []
            if s.name in names or s.short_name in shorts
        ]
    return SuggestionPrint(
        lines,
        shingles,
        tuple(syms or ()),
        tuple(base_syms),
        structural=syms is not None,
        sequence=sequence(code, base_filter, language),
        baseline=base_filter,
    )


def _find(sym: Symbol, pool: Sequence[Symbol], taken: set[int] | None = None) -> Symbol | None:
    """The definition in ``pool`` that ``sym`` is, or ``None``.

    Same-named definitions (an ``@overload`` group, a property's getter and setter, one
    method name in two classes, a snippet's method without its class) are told apart by
    content: the identical one first, then the one with the same signature, then the
    same body, then the first in file order. A pool entry whose index is in ``taken`` is
    already spoken for, and the match found is added to it, so two suggested overloads
    never land on one definition.
    """
    taken = set() if taken is None else taken
    named: list[tuple[int, Symbol]] = []
    short: list[tuple[int, Symbol]] = []
    for i, c in enumerate(pool):
        if i in taken or c.kind != sym.kind or c.short_name != sym.short_name:
            continue
        short.append((i, c))
        if c.name == sym.name:
            named.append((i, c))
    for group in (named, short):
        for rank in (3, 2, 1):
            hit = next((x for x in group if _likeness(x[1], sym) == rank), None)
            if hit is not None:
                taken.add(hit[0])
                return hit[1]
    if named or len(short) == 1:
        i, c = (named or short)[0]
        taken.add(i)
        return c
    return None


def _likeness(c: Symbol, sym: Symbol) -> int:
    """3 identical, 2 same signature, 1 same body, 0 only the name in common."""
    if c.signature == sym.signature:
        return 3 if c.body == sym.body else 2
    return 1 if c.body and c.body == sym.body else 0


def structure_verdicts(
    sp: SuggestionPrint, current: list[Symbol], *, whole: bool = False
) -> tuple[tuple[str, CodeVerdict], ...]:
    """Per suggested symbol, what the user did with it (nothing when it was left alone).

    ``whole``: the text shows every suggested line in place and nothing edited or added,
    so a body that differs from the suggested one differs by lines the file already had
    (the suggestion opened a function without its whole body): that symbol is applied.
    """
    out: list[tuple[str, CodeVerdict]] = []
    base_taken: set[int] = set()
    cur_taken: set[int] = set()
    for sug in sp.symbols:
        base = _find(sug, sp.baseline_symbols, base_taken)
        if base is not None and base.signature == sug.signature and base.body == sug.body:
            continue  # the suggestion did not change this symbol (context it repeated)
        cur = _find(sug, current, cur_taken)
        if cur is None:
            # A renamed copy: same kind and body under a new name is a signature change.
            renamed = [
                c
                for c in current
                if c.kind == sug.kind
                and c.body
                and c.body == sug.body
                and c.short_name != sug.short_name
            ]
            if renamed:
                out.append((sug.name, CodeVerdict.SIGNATURE_CHANGED))
            elif base is not None:
                out.append((sug.name, CodeVerdict.SYMBOL_REMOVED))
            continue
        as_suggested = cur.signature == sug.signature and (cur.body == sug.body or whole)
        if as_suggested:
            out.append(
                (sug.name, CodeVerdict.SYMBOL_ADDED if base is None else CodeVerdict.APPLIED)
            )
        elif base is not None and cur.signature == base.signature and cur.body == base.body:
            continue  # untouched since the suggestion
        elif cur.signature != sug.signature:
            out.append((sug.name, CodeVerdict.SIGNATURE_CHANGED))
        else:
            out.append((sug.name, CodeVerdict.BODY_MODIFIED))
    return tuple(out)


def assess(sp: SuggestionPrint, text: str | None, language: str | None) -> Assessment:
    """Measure one candidate ``text`` (``None``: the file does not exist there)."""
    if text is None:
        taken: set[int] = set()
        removed = tuple(
            (s.name, CodeVerdict.SYMBOL_REMOVED)
            for s in sp.symbols
            if _find(s, sp.baseline_symbols, taken) is not None
        )
        return Assessment(
            0.0 if sp.lines else None,
            0.0 if sp.shingles else None,
            removed if sp.structural else (),
        )
    lines = text_lines(text)
    tp = TextPrint(frozenset(ln.hash for ln in lines if ln.hash), frozenset(shingle_hashes(text)))
    tm = compare(sp.sequence, sp.baseline, lines) if sp.sequence and sp.baseline else None
    whole = tm is not None and tm.exact >= 1.0 and tm.added == 0 and tm.edited == 0
    structure: tuple[tuple[str, CodeVerdict], ...] = ()
    if sp.structural and sp.symbols and language:
        current = symbols(text, language)
        if current is not None:
            structure = structure_verdicts(sp, current, whole=whole)
    return Assessment(
        containment(sp.lines, tp.lines),
        containment(sp.shingles, tp.shingles),
        structure,
        exact_share=tm.exact if tm else None,
        near_share=tm.near if tm else None,
        added=tm.added if tm else 0,
        edited=tm.edited if tm else 0,
    )


def decide(a: Assessment, *, expired: bool) -> CodeVerdict | None:
    """``applied`` / ``modified`` / ``ignored`` for an assessment, or ``None`` (wait).

    ``applied`` needs all of the novel part as suggested: every token window present
    (every novel line when it is too short for one), no suggested line present only as an
    edited version (one constant or one name changed), and no line the human wrote inside
    or right next to it. ``modified`` needs at least :data:`MODIFIED_AT` of it present,
    exactly or as edited lines, or a suggested symbol there with another signature or
    body (heavily reworked code keeps its name).

    Suggestions stored before the line sequence was kept are judged on shares alone:
    ``applied`` from :data:`APPLIED_AT` with no suggested symbol changed, ``modified`` from
    :data:`MODIFIED_AT` or when a suggested symbol is there but changed.

    ``ignored`` needs the TTL to have passed (``expired``): absence before that may only
    mean the developer has not got to it yet.
    """
    if a.exact_share is not None and a.near_share is not None:
        return _decide_by_lines(a, expired=expired)
    score = a.score
    changed = any(v in _CHANGED_SIGNS for _, v in a.structure)
    if score is not None and score >= APPLIED_AT and not changed:
        return CodeVerdict.APPLIED
    acted = any(v in _ADOPTION_SIGNS for _, v in a.structure)
    if (score is not None and score >= MODIFIED_AT) or acted:
        return CodeVerdict.MODIFIED
    if expired:
        return CodeVerdict.IGNORED
    return None


def _decide_by_lines(a: Assessment, *, expired: bool) -> CodeVerdict | None:
    assert a.exact_share is not None
    assert a.near_share is not None
    shingles = a.shingle_share or 0.0
    # All of it, as suggested: every novel line, or (reformatted) every token window, and
    # nothing the human edited in it or wrote beside it.
    whole = shingles >= 1.0 if a.shingle_share is not None else a.exact_share >= 1.0
    if whole and a.added == 0 and a.edited == 0:
        return CodeVerdict.APPLIED
    if a.near_share >= MODIFIED_AT or a.exact_share >= MODIFIED_AT or shingles >= MODIFIED_AT:
        return CodeVerdict.MODIFIED
    if any(v in _CHANGED_SIGNS for _, v in a.structure):
        return CodeVerdict.MODIFIED  # reworked past line likeness, under its own name
    if expired:
        return CodeVerdict.IGNORED
    return None
