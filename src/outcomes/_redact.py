"""Privacy bounds on free text: length caps and secret scrubbing.

Every free-text field that reaches storage (routing reason, error, excerpt) passes
through :func:`redact` first. Secrets are replaced by :data:`REDACTED` *before* the
length cap, so a secret cut in half by the cap can never leak its first part.
"""

from __future__ import annotations

import re

MAX_TEXT_CHARS = 256
"""Free-text fields are capped at this many characters (plus a trailing ``…``)."""

REDACTED = "[REDACTED]"

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Authorization: Bearer <token>" and bare "Bearer <token>"
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*"), r"\1 " + REDACTED),
    # key=value / key: value for names that hold credentials; keep the name
    (
        re.compile(
            r"(?i)\b((?:[\w.-]*?(?:api[_-]?key|apikey|password|passwd|secret|access[_-]?key|"
            r"private[_-]?key|token(?!s))[\w.-]*)|authorization|auth|pwd)\b"
            r"(\"?\s*[:=]\s*)(?!\[REDACTED\]|(?i:bearer)\b)(\"[^\"]*\"|'[^']*'|[^\s&,;\"'}]+)"
        ),
        r"\1\2" + REDACTED,
    ),
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"), REDACTED),
    # AWS access key ids
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"), REDACTED),
    # GitHub, Slack, Google API keys
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z\-_]{35}\b"), REDACTED),
    # credentials embedded in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
)


def scrub_secrets(text: str) -> str:
    """Replace API keys, bearer tokens and ``key=value`` credentials with :data:`REDACTED`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def cap(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cap ``text`` at ``limit`` characters on a character boundary, adding ``…`` if cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + "…"


def clean_text(text: str) -> str:
    """Make ``text`` storable: lone surrogates and NUL characters are replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def redact(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Scrub secrets, make the text storable, then cap it: the one entry point for storage."""
    # Bound the work the regexes do on a hostile multi-megabyte string: nothing past a
    # generous prefix can survive the cap anyway.
    if len(text) > limit * 8:
        text = text[: limit * 8]
    return cap(clean_text(scrub_secrets(text)), limit)
