"""Code adoption: remember suggestions as fingerprints, then ask git what became of them.

:class:`CodeAdoption` stores a :class:`CodeSuggestion` per suggested file and, at each
:meth:`CodeAdoption.check`, compares every pending suggestion of a repository with the
work tree, the index and the commits made since it was suggested. Each finding becomes
a :class:`~outcomes.records.Signal` with a deterministic id, delivered to a
:class:`SignalSink` (the inference tracker), so running a check twice never counts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import derived_id, new_id
from outcomes.errors import ValidationError
from outcomes.inference.code import _git
from outcomes.inference.code._assess import Assessment, SuggestionPrint, assess, decide, fingerprint
from outcomes.inference.code._compare import SuggestedLine
from outcomes.inference.code._fingerprint import LineFilter
from outcomes.inference.code._records import (
    PENDING,
    RESOLVED,
    SURVIVAL_MILESTONES,
    UNDECIDABLE,
    CodeFinding,
    CodeSuggestion,
)
from outcomes.inference.code._schema import MIGRATIONS
from outcomes.inference.code._structure import Symbol, language_of
from outcomes.records import CodeVerdict, Signal
from outcomes.store import Store

log = logging.getLogger("outcomes.inference.code")

DEFAULT_TTL = 86_400.0
"""Seconds after which a suggestion with no trace in the repository reads ``ignored``."""

MAX_SUGGESTION_CHARS = 500_000
_MAX_OTHER_FILES = 50
_MAX_COMMITS = 20

SIGNAL_KIND = "code"
SYMBOL_SIGNAL_KIND = "code.symbol"
SURVIVAL_SIGNAL_KIND = "code.survival"


class SignalSink(Protocol):
    """Where signals go: the inference tracker's ``record_signal`` (idempotent by id)."""

    def record_signal(self, signal: Signal) -> Any: ...


class ListSink:
    """A sink that keeps signals in a list (tests, dry runs); idempotent like the tracker."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self._seen: set[str] = set()

    def record_signal(self, signal: Signal) -> bool:
        if signal.signal_id in self._seen:
            return False
        self._seen.add(signal.signal_id)
        self.signals.append(signal)
        return True


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What one :meth:`CodeAdoption.check` did: new findings and what is still pending."""

    repo: str
    findings: tuple[CodeFinding, ...]
    pending: int
    provisional: dict[str, float]
    """Pending suggestion id -> share seen so far (partial work not yet committed)."""


def _symbols_json(symbols: Iterable[Symbol]) -> list[dict[str, Any]]:
    return [s.to_json() for s in symbols]


def _print_of(s: CodeSuggestion) -> SuggestionPrint:
    sequence, baseline = _lines_of(s)
    return SuggestionPrint(
        frozenset(s.lines),
        frozenset(s.shingles),
        tuple(Symbol.from_json(d) for d in s.symbols),
        tuple(Symbol.from_json(d) for d in s.baseline_symbols),
        structural=s.language != "text" and bool(s.symbols),
        sequence=sequence,
        baseline=baseline,
    )


def _lines_of(s: CodeSuggestion) -> tuple[tuple[SuggestedLine, ...], LineFilter | None]:
    """The stored line sequence and baseline filter; none for rows stored before them or
    damaged ones (the suggestion is then judged on its line and shingle shares alone)."""
    if not s.line_sequence or not s.baseline_filter:
        return (), None
    try:
        return (
            tuple(SuggestedLine.from_json(item) for item in s.line_sequence),
            LineFilter.decode(s.baseline_filter),
        )
    except (ValueError, TypeError) as exc:
        log.warning("suggestion %s: unreadable line sequence (%s)", s.suggestion_id, exc)
        return (), None


class CodeAdoption:
    """Track code suggestions against git. One instance per store; thread-compatible.

    ``sink`` receives each suggestion's verdict (``applied``/``modified``/``ignored``) as
    a ``code`` signal: pass the inference tracker. Per-symbol verdicts (``code.symbol``)
    and survival shares (``code.survival``) are stored as findings and go to the sink
    only with ``forward_details=True``: they describe the suggestion, and must not
    supersede the call's verdict one symbol at a time. ``ttl`` is how long a suggestion
    may show no trace before it reads ``ignored``.
    """

    def __init__(
        self,
        store: Store,
        *,
        sink: SignalSink | None = None,
        clock: Clock = SYSTEM_CLOCK,
        ttl: float = DEFAULT_TTL,
        forward_details: bool = False,
    ) -> None:
        if not ttl > 0:
            raise ValidationError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self.store = store
        self.sink = sink
        self.clock = clock
        self.ttl = float(ttl)
        self.forward_details = forward_details
        self._changes_cache: dict[str | None, _git.Changes] = {}
        self._commits_cache: dict[str | None, list[str]] = {}
        store.migrate(MIGRATIONS)

    def suggest(
        self,
        trace_id: str,
        path: str | Path,
        code: str,
        *,
        repo: str | Path | None = None,
        suggestion_id: str | None = None,
    ) -> CodeSuggestion:
        """Remember that call ``trace_id`` suggested ``code`` for ``path``.

        ``path`` is absolute or relative to ``repo`` (default: the repository containing
        ``path``, else the current directory). The file as it is now is the baseline: only
        the novel part of ``code`` is tracked. Only hashes and symbol names are stored.
        Raises :class:`~outcomes.errors.ValidationError` outside a git work tree.
        """
        if not isinstance(code, str):
            raise ValidationError("code must be a string", where="suggest.code")
        if len(code) > MAX_SUGGESTION_CHARS:
            raise ValidationError(
                f"suggestion of {len(code)} characters exceeds {MAX_SUGGESTION_CHARS}",
                where="suggest.code",
            )
        p = Path(path)
        start = Path(repo) if repo is not None else (p.parent if p.is_absolute() else Path.cwd())
        root = _git.repo_root(start)
        full = (p if p.is_absolute() else root / p).resolve()
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError as exc:
            raise ValidationError(f"{full} is outside the repository {root}") from exc
        language = language_of(rel)
        baseline = _git.worktree(root, rel)
        sp = fingerprint(code, language, baseline)
        record = CodeSuggestion(
            suggestion_id=suggestion_id or new_id(),
            trace_id=trace_id,
            repo=str(root),
            path=rel,
            language=language if sp.structural and language else "text",
            created_at=self.clock.now(),
            base_commit=_git.head(root),
            lines=sorted(sp.lines),
            shingles=sorted(sp.shingles),
            symbols=_symbols_json(sp.symbols),
            baseline_symbols=_symbols_json(sp.baseline_symbols),
            status=PENDING if (sp.lines or sp.shingles) else UNDECIDABLE,
            line_sequence=[item.to_json() for item in sp.sequence],
            baseline_filter=sp.baseline.encode() if sp.baseline is not None else None,
        )
        self.store.write([record])
        return record

    def suggestions(
        self, *, repo: str | Path | None = None, status: str | None = None, limit: int | None = None
    ) -> Iterator[CodeSuggestion]:
        """Stored suggestions, newest first, optionally for one repository or status."""
        where: list[tuple[str, Any, Any]] = []
        if repo is not None:
            where.append(("repo", "=", str(_git.repo_root(repo))))
        if status is not None:
            where.append(("status", "=", status))
        return self.store.scan(
            CodeSuggestion.__table__,
            where=where,
            order_by="created_at",
            descending=True,
            limit=limit,
        )

    def findings(self, *, limit: int | None = 50) -> Iterator[CodeFinding]:
        """Recent findings, newest first."""
        return self.store.scan(
            CodeFinding.__table__, order_by="timestamp", descending=True, limit=limit
        )

    def check(self, repo: str | Path = ".", *, now: float | None = None) -> CheckReport:
        """Resolve what can be resolved for every suggestion in ``repo``; emit signals.

        Idempotent: findings have deterministic ids, so a second run at the same state
        emits nothing new.
        """
        root = _git.repo_root(repo)
        when = self.clock.now() if now is None else now
        head = _git.head(root)
        # Many suggestions share a base commit: ask git once per base within one check.
        self._changes_cache.clear()
        self._commits_cache.clear()
        found: list[CodeFinding] = []
        provisional: dict[str, float] = {}
        pending = 0
        rows = list(
            self.store.scan(
                CodeSuggestion.__table__, where=[("repo", "=", str(root))], order_by="created_at"
            )
        )
        for s in rows:
            if s.status == PENDING:
                new, share = self._resolve(root, s, when, head)
                found.extend(new)
                if not new:
                    pending += 1
                    if share:
                        provisional[s.suggestion_id] = share
            elif s.status == RESOLVED:
                found.extend(self._survival(root, s, when, head))
        return CheckReport(str(root), tuple(found), pending, provisional)

    def _changes(self, root: Path, base: str | None) -> _git.Changes:
        if base not in self._changes_cache:
            self._changes_cache[base] = _git.changes_since(root, base)
        return self._changes_cache[base]

    def _commits(self, root: Path, base: str | None) -> list[str]:
        if base not in self._commits_cache:
            self._commits_cache[base] = _git.commits_since(root, base, limit=_MAX_COMMITS)
        return self._commits_cache[base]

    def _candidates(
        self, root: Path, s: CodeSuggestion
    ) -> tuple[str, list[tuple[str, str | None]], _git.Changes]:
        """The suggestion's file (following a rename) and its versions to look at."""
        changes = self._changes(root, s.base_commit)
        path = changes.renamed.get(s.path, s.path)
        # Commits first: on a tie the committed version wins, and committed evidence settles.
        versions: list[tuple[str, str | None]] = [
            (f"commit:{commit}", _git.show(root, commit, path))
            for commit in self._commits(root, s.base_commit)
        ]
        versions.append(("index", _git.show(root, "", path)))
        versions.append(("worktree", _git.worktree(root, path)))
        return path, versions, changes

    def _best(
        self, root: Path, s: CodeSuggestion, sp: SuggestionPrint
    ) -> tuple[str, str, Assessment]:
        path, versions, changes = self._candidates(root, s)
        lang = s.language if s.language != "text" else None
        best: tuple[str, str, Assessment] | None = None
        for source, text in versions:
            if text is None and source != "worktree":
                continue
            a = assess(sp, text, lang)
            if best is None or _rank(a) > _rank(best[2]):
                best = (path, source, a)
        assert best is not None
        if decide(best[2], expired=True) is not CodeVerdict.APPLIED:
            # The code may have landed in another file (moved, or split out).
            want = language_of(s.path)
            others = sorted(p for p in changes.paths if p != path and language_of(p) == want)
            for other in others[:_MAX_OTHER_FILES]:
                a = assess(sp, _git.worktree(root, other), lang)
                if _rank(a) > _rank(best[2]):
                    best = (other, "worktree", a)
        return best

    def _resolve(
        self, root: Path, s: CodeSuggestion, when: float, head: str | None
    ) -> tuple[list[CodeFinding], float | None]:
        sp = _print_of(s)
        path, source, a = self._best(root, s, sp)
        expired = when - s.created_at >= self.ttl
        verdict = decide(a, expired=expired)
        settled = verdict is CodeVerdict.APPLIED or source.startswith("commit:") or expired
        if verdict is None or not settled:
            return [], a.score
        findings = [
            self._finding(
                s,
                "verdict",
                verdict.value,
                when=when,
                confidence=a.score,
                symbol=None,
                source=source,
                path=path,
            ),
        ]
        for name, sv in a.structure:
            findings.append(
                self._finding(
                    s,
                    "symbol",
                    sv.value,
                    when=when,
                    confidence=None,
                    symbol=name,
                    source=source,
                    path=path,
                )
            )
        emitted = self._emit(findings)
        self.store.update(
            CodeSuggestion.__table__,
            s.suggestion_id,
            {
                "status": RESOLVED,
                "verdict": verdict.value,
                "confidence": a.score,
                "resolved_at": when,
                "resolved_commit": head,
            },
        )
        return emitted, None

    def _survival(
        self, root: Path, s: CodeSuggestion, when: float, head: str | None
    ) -> list[CodeFinding]:
        if s.verdict not in (CodeVerdict.APPLIED.value, CodeVerdict.MODIFIED.value):
            return []
        due: list[str] = []
        for name, after in SURVIVAL_MILESTONES:
            if name in s.survival:
                continue
            if after is None:
                if head is not None and head != s.resolved_commit:
                    due.append(name)
            elif s.resolved_at is not None and when - s.resolved_at >= after:
                due.append(name)
        if not due:
            return []
        sp = _print_of(s)
        # Survival is about now: the work tree only (following renames and moves), never
        # the commits in between, which still hold the code that was later removed.
        changes = self._changes(root, s.base_commit)
        path = changes.renamed.get(s.path, s.path)
        a = assess(sp, _git.worktree(root, path), None)
        if (a.score or 0.0) < 1.0:
            want = language_of(s.path)
            others = sorted(p for p in changes.paths if p != path and language_of(p) == want)
            for other in others[:_MAX_OTHER_FILES]:
                b = assess(sp, _git.worktree(root, other), None)
                if (b.score or 0.0) > (a.score or 0.0):
                    path, a = other, b
        at_resolution = s.confidence or 1.0
        share = min(1.0, (a.score or 0.0) / at_resolution) if at_resolution > 0 else 0.0
        findings = [
            self._finding(
                s,
                "survival",
                name,
                when=when,
                confidence=round(share, 4),
                symbol=None,
                source="worktree",
                path=path,
            )
            for name in due
        ]
        emitted = self._emit(findings)
        survival = dict(s.survival)
        survival.update({name: round(share, 4) for name in due})
        self.store.update(CodeSuggestion.__table__, s.suggestion_id, {"survival": survival})
        return emitted

    def _finding(
        self,
        s: CodeSuggestion,
        scope: str,
        verdict: str,
        *,
        when: float,
        confidence: float | None,
        symbol: str | None,
        source: str,
        path: str,
    ) -> CodeFinding:
        fid = derived_id(
            "code", s.suggestion_id, scope, symbol or "", verdict if scope == "survival" else ""
        )
        return CodeFinding(
            finding_id=fid,
            suggestion_id=s.suggestion_id,
            trace_id=s.trace_id,
            path=path,
            scope=scope,
            verdict=verdict,
            timestamp=when,
            confidence=None if confidence is None else round(confidence, 4),
            symbol=symbol,
            source=source,
        )

    def _emit(self, findings: Sequence[CodeFinding]) -> list[CodeFinding]:
        # Deliver first, then remember: a crash in between re-delivers (idempotent by id)
        # instead of losing the signal.
        if self.sink is not None:
            for f in findings:
                if f.scope == "verdict" or self.forward_details:
                    self.sink.record_signal(to_signal(f))
        self.store.write(list(findings))
        return list(findings)


_VERDICT_RANK = {CodeVerdict.APPLIED: 2, CodeVerdict.MODIFIED: 1}


def _rank(a: Assessment) -> tuple[int, float, int]:
    """Which version shows the suggestion best: the strongest verdict, then the share."""
    acted = sum(1 for _, v in a.structure if v is not CodeVerdict.SYMBOL_REMOVED)
    verdict = decide(a, expired=True)
    return (_VERDICT_RANK.get(verdict, 0) if verdict else 0, a.score or 0.0, acted)


def to_signal(f: CodeFinding) -> Signal:
    """The signal a finding becomes (same id, so re-delivery is harmless)."""
    kind = {"verdict": SIGNAL_KIND, "symbol": SYMBOL_SIGNAL_KIND}.get(f.scope, SURVIVAL_SIGNAL_KIND)
    detail = f.path if f.symbol is None else f"{f.path}::{f.symbol}"
    return Signal(
        signal_id=f.finding_id,
        trace_id=f.trace_id,
        kind=kind,
        verdict=f.verdict,
        timestamp=f.timestamp,
        confidence=f.confidence,
        detail=detail,
    )
