"""Reading one follow-up message: normalise, split into clauses, weigh the cues.

The message is read clause by clause. A clause that asks a question or makes a new
request carries no verdict on the answer ("does this also work for OrderedDict?", "ok
now do the same for median"): its acceptance and edit cues are ignored, only strong
failure reports ("why does it still fail?") count. Praise followed by a new bad state
("great, now every value is NaN") is read as sarcasm. The result is the evidence for
each verdict; :mod:`outcomes.inference.conversation` turns it into a verdict and a
calibrated confidence.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from outcomes.inference._conversation_cues import (
    ACCEPT,
    EDIT,
    NEUTRAL,
    NOW,
    QUESTION,
    QUESTION_END,
    REJECT,
    REQUEST,
    RESOLVED,
    SARCASM,
    SPACED,
    STRONG_REJECT,
    TYPO_PROTECT,
    TYPO_VOCAB,
    WAITING,
    compile_openings,
    compile_table,
)

MAX_TEXT_CHARS = 4_000
"""Only the first characters of a message are read (cues sit at the start; bounds time)."""

_RESOLVED = compile_table(RESOLVED)
_STRONG = compile_table(STRONG_REJECT)
_REJECT = compile_table(REJECT)
_EDIT = compile_table(EDIT)
_ACCEPT = compile_table(ACCEPT)
_SARCASM = compile_table(SARCASM)
_NEUTRAL = compile_table(NEUTRAL)
_WAITING = compile_table(WAITING)
_QUESTION = compile_openings(QUESTION)
_REQUEST = compile_openings(REQUEST)
_NOW = re.compile(
    r"^\s*(?:"
    + "|".join(rf"{v}(?!\w)" if k in SPACED else v for k, v in NOW.items())
    + r")(?!\s+(?:i |how|what|can|could|do |add|make|show|write))",
    re.IGNORECASE,
)
_ERROR_SIGNATURE = re.compile(
    r"Traceback \(most recent call last\)|(?i:[\w.]*(?:error|exception)(?:\[\w+\])?):\s"
    r"|^\s*(?i:fatal|error|panic|caused by|uncaught|unhandled)\b|\[(?:emerg|error|crit)\]"
    r"|(?i:permission denied|no such file or directory|cannot stat|segmentation fault)"
    r"|exited with code [1-9]|OutOfMemoryError|Error from server|Error response from daemon"
    r"|command not found|undefined reference|cannot find symbol|\bERROR\b|Warning: Can'?t"
    r"|\b[45]\d\d (?:Bad|Internal|Not Found|Service|Gateway)",
    re.MULTILINE,
)
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |return\b|if |for |while |import |from |[{}]|.*[;{}]\s*$|.*\)\s*:\s*$)"
)
_SENTENCE = re.compile(r"(?<=[!?。！？])|(?<=\.)(?=\s)|\n+")
_CHUNK = re.compile(r"[,;]\s|[,;]$|[，、；]|\s[-–—]\s|:\s")
_REPEAT = re.compile(r"([^\W\d_])\1{2,}")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@dataclass(slots=True)
class Evidence:
    """Summed cue weights per verdict and the names of what fired."""

    accept: float = 0.0
    edit: float = 0.0
    reject: float = 0.0
    cues: list[str] = field(default_factory=list)

    def note(self, cue: str) -> None:
        if cue not in self.cues:
            self.cues.append(cue)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _typo_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for word in TYPO_VOCAB:
        for key in (word, *sorted(_deletes(word))):
            index.setdefault(key, word)
    return index


_TYPOS = _typo_index()
_VOCAB = frozenset(TYPO_VOCAB)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return (
        a[i + 1 :] == b[i + 1 :]
        or a[i:] == b[i + 1 :]
        or a[i + 1 :] == b[i:]
        or (a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :])
    )


@lru_cache(maxsize=4096)
def _corrected(token: str) -> str:
    """``token`` or the vocabulary word one edit away (same first letter)."""
    if len(token) < 4 or token in _VOCAB or token in TYPO_PROTECT or token[:-1] in _VOCAB:
        return token
    for key in (token, *sorted(_deletes(token))):
        word = _TYPOS.get(key)
        if word and (word[0] == token[0] or word[:2] == token[1::-1]) and _one_edit(token, word):
            return word
    return token


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, stretched letters shortened, typos of cue words fixed."""
    text = text[:MAX_TEXT_CHARS].strip().lower().replace("’", "'").replace("‘", "'")
    text = _REPEAT.sub(r"\1", text)
    return _TOKEN.sub(lambda m: _corrected(m.group()), text)


def clauses(text: str) -> list[tuple[str, str]]:
    """``(clause, mood)`` pairs; mood is ``statement``, ``question`` or ``request``."""
    out: list[tuple[str, str]] = []
    for sentence in _SENTENCE.split(text):
        if not sentence or not sentence.strip():
            continue
        asks = bool(QUESTION_END.search(sentence.strip()))
        chunks = [c for c in _CHUNK.split(sentence) if c.strip()]
        for i, chunk in enumerate(chunks):
            if _REQUEST.match(chunk):
                mood = "request"
            elif _QUESTION.match(chunk) or (asks and i == len(chunks) - 1):
                mood = "question"
            else:
                mood = "statement"
            out.append((chunk.strip(), mood))
    return out


def _weigh(patterns: tuple[tuple[re.Pattern[str], float], ...], text: str) -> tuple[float, str]:
    total = 0.0
    for pattern, weight in patterns:
        if pattern.search(text):
            total += weight
            text = pattern.sub(" ", text)
    return total, text


def _pasted_error(text: str, evidence: Evidence) -> str:
    """Score a pasted error or traceback as a failure report; return the text without it."""
    if not _ERROR_SIGNATURE.search(text):
        return text
    evidence.reject += 1.8
    evidence.note("pasted_error")
    kept = [ln for ln in text.splitlines() if not _ERROR_SIGNATURE.search(ln)]
    return "\n".join(kept)


def _pasted_code(response: str | None, text: str, evidence: Evidence) -> None:
    """Code pasted back: close to the answer's code but not the same is an edit."""
    pasted = [ln for ln in text.splitlines() if ln.strip() and _CODE_LINE.match(ln)]
    if not response or len(pasted) < 3:
        return
    ratio = difflib.SequenceMatcher(
        None, response.strip()[:MAX_TEXT_CHARS], text, autojunk=False
    ).ratio()
    if ratio < 0.5:
        return
    if response.strip() == text.strip():
        evidence.note("code_pasted_unchanged")
    else:
        evidence.edit += 2.0
        evidence.note("code_pasted_with_edits")


def read_message(message: str, response: str | None) -> Evidence:
    """The evidence in one follow-up message (the answer it follows for pasted code)."""
    evidence = Evidence()
    raw = message[:MAX_TEXT_CHARS]
    _pasted_code(response, raw.strip(), evidence)
    if "code_pasted_with_edits" in evidence.cues or "code_pasted_unchanged" in evidence.cues:
        return evidence
    text = normalise(_pasted_error(raw, evidence))
    praised = False
    for chunk, mood in clauses(text):
        if mood != "statement":
            evidence.note(mood)
        before = evidence.accept
        praised = _read_clause(chunk, mood, evidence, praised) and evidence.accept > before
    return evidence


def _read_clause(chunk: str, mood: str, evidence: Evidence, praised: bool) -> bool:
    """Add one clause's cues; True when the clause was praise only (for sarcasm)."""
    _, chunk = _weigh(_NEUTRAL, chunk)
    resolved, chunk = _weigh(_RESOLVED, chunk)
    strong, chunk = _weigh(_STRONG, chunk)
    sarcasm = any(pattern.search(chunk) for pattern, _ in _SARCASM)
    evidence.accept += resolved
    evidence.reject += strong
    if resolved:
        evidence.note("resolved")
    if strong:
        evidence.note("failure")
    if sarcasm:
        evidence.note("sarcasm_marker")
    if mood != "statement":
        return False
    if any(pattern.search(chunk) for pattern, _ in _WAITING):
        evidence.note("waiting")
    if praised and _NOW.match(chunk) and not resolved:
        # "great, now every value is NaN": praise, then a new state that is not praise.
        evidence.reject += 1.5
        evidence.note("sarcasm")
    reject, chunk = _weigh(_REJECT, chunk)
    edit, chunk = _weigh(_EDIT, chunk)
    accept, chunk = _weigh(_ACCEPT, chunk)
    evidence.reject += reject
    evidence.edit += edit
    evidence.accept += accept
    for name, value in (("correction", reject), ("edit", edit), ("acceptance", accept)):
        if value:
            evidence.note(name)
    return bool(accept) and not (reject or edit or strong)
