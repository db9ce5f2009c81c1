"""The secret detectors behind :mod:`outcomes._redact`: named patterns and an entropy rule.

The named patterns follow the detectors of ``detect-secrets`` (Yelp; one regular
expression per credential format: AWS, Stripe, JWT, Slack, GitHub, private keys, ...),
extended with formats it does not cover (Hugging Face ``hf_``, Groq ``gsk_``, Anthropic
``sk-ant-``, GitLab, npm, PyPI, bearer headers, credentials in URLs, bare AWS secret keys
next to their access key id). They are compiled here rather than imported from
``detect-secrets`` at run time because importing it costs ~100 ms and pulls ``requests``
into every host application; ``tests/test_secrets_detect_secrets.py`` keeps the two in
step: every regex detector of the installed ``detect-secrets`` must be matched by ours on
strings generated from its own patterns, so a detector added upstream fails our suite
until it is covered here.

The entropy rule catches long random tokens no pattern names: a run of 20 or more
token characters that mixes upper case, lower case and digits and carries at least
:data:`ENTROPY_BITS` bits per character, or a hexadecimal run of 32 or more. Its
thresholds come from what random tokens look like, not from any list of secrets: a
uniformly random 20-character string over 62 symbols has an expected per-character
entropy of about 4.0 bits (its 20 draws hit ~17 distinct symbols), with a standard
deviation near 0.15, so 3.5 keeps virtually all of them; English identifiers (model
names, exception names, paths) rarely mix all three character classes and sit lower.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter

ENTROPY_MIN_CHARS = 20
ENTROPY_BITS = 3.5
HEX_MIN_CHARS = 32

# (name, pattern). A match is replaced whole, except that a pattern with a group named
# ``keep`` keeps that part (a header or variable name, so the text still says what was
# there).
_NAMED: tuple[tuple[str, str], ...] = (
    (
        "private_key",
        r"(?:-----)?BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?(?:-----)?"
        r"(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)",
    ),
    ("private_key", r"PuTTY-User-Key-File-\d+[\s\S]*"),
    ("slack_webhook", r"(?i)https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/+-]+"),
    (
        "discord_webhook",
        r"(?i)https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w-]+",
    ),
    ("softlayer", r"(?i)https?://api.softlayer.com/soap/v3(?:.1)?/[a-z0-9]{64}"),
    ("url_credentials", r"(?P<keep>://[^\s:/@]*:)[^\s@/]+(?=@)"),
    ("stripe", r"[rsp]k_(?:live|test)_[0-9A-Za-z]{16,}"),
    ("jwt", r"eyJ[A-Za-z0-9_=-]{2,}\.[A-Za-z0-9_=-]+(?:\.[A-Za-z0-9_.+/=-]*)?"),
    (
        "aws_access_key_id",
        r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}",
    ),
    (
        "aws_secret_access_key",
        r"(?i)(?P<keep>aws.{0,20}?(?:secret|key|token|pwd|pw|pass).{0,20}?[\"'=:\s]\s*[\"']?)"
        r"[0-9A-Za-z/+]{40}(?![0-9A-Za-z/+])",
    ),
    ("anthropic", r"sk-ant-[A-Za-z0-9_-]{16,}"),
    ("openai", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}"),
    ("huggingface", r"hf_[A-Za-z0-9]{20,}"),
    ("groq", r"gsk_[A-Za-z0-9]{20,}"),
    ("github", r"(?:gh[pousr]_[A-Za-z0-9_]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    ("gitlab", r"gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}"),
    ("gitlab", r"GR1348941[A-Za-z0-9_-]{20,}"),
    ("slack_token", r"(?i)xox[abposre]-[A-Za-z0-9-]{10,}"),
    ("slack_token", r"(?i)xox[abposr]-(?:\d+-)+[a-z0-9]+"),
    ("google_api_key", r"AIza[0-9A-Za-z_-]{35}"),
    ("npm", r"npm_[A-Za-z0-9]{36}"),
    ("npm", r"(?i)//.+/:_authToken=\s*[A-Za-z0-9-_]+"),
    ("pypi", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}"),
    ("pypi", r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{20,}"),
    ("sendgrid", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),
    ("twilio", r"(?:AC|SK)[a-z0-9]{32}"),
    ("mailchimp", r"[0-9a-z]{32}-us[0-9]{1,2}"),
    ("square", r"sq0(?:csp|atp)-[0-9A-Za-z_\\-]{22,43}"),
    ("telegram", r"\d{8,10}:[0-9A-Za-z_-]{35}"),
    ("discord_bot", r"[MNO][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27}"),
    ("artifactory", r"(?:\s|=|:|\"|^)AKC[a-zA-Z0-9]{10,}(?:\s|\"|$)"),
    ("artifactory", r"(?:\s|=|:|\"|^)AP[\dABCDEF][a-zA-Z0-9]{8,}(?:\s|\"|$)"),
    ("azure_storage", r"(?i)(?P<keep>AccountKey=)[a-z0-9+/=]{20,}"),
    ("azure_storage", r"(?i)(?P<keep>(?:SharedAccessSignature|sig)=)[A-Za-z0-9%+/=]{20,}"),
    ("bearer", r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"),
    # After "token"/"basic" only a value that looks encoded (a digit, "=", or an upper-case
    # letter inside it), so that "Basic authentication failed" keeps its words.
    (
        "bearer",
        r"(?P<keep>\b(?i:token|basic)\s+)(?=[A-Za-z0-9\-._~+/]*(?:[0-9=]|[a-z][A-Z]|[A-Z]{2}))"
        r"[A-Za-z0-9\-._~+/]{8,}=*",
    ),
    # key = value, key: value, "key": "value", ["key"]="value" for credential names, and
    # "key value" when the value looks encoded (a digit, "=", or an inner capital), so
    # that "auth failed" or "token limit exceeded" keep their words.
    (
        "credential_assignment",
        r"(?i)(?P<keep>(?:[\w.-]*?(?:api[_-]?key|apikey|password|passwd|secret|access[_-]?key|"
        r"private[_-]?key|client[_-]?secret|token(?!s)|credentials?|pwd|(?<![a-z])auth)"
        r"[\w.-]*|[\w.-]*?(?:key|pass|pw))\b"
        r"(?:[\"'\]\s]*[:=>]+\s*|[\"'\]]*\s+"
        r"(?=[\"']?[^\s\"']*(?-i:[0-9=]|[a-z][A-Z]|[A-Z]{2}))))"
        r"(?!\[REDACTED\]|(?i:bearer|basic|token)\b)"
        r"(?:\"[^\"]*\"|'[^']*'|[\"']?[^\s&,;\"'}]+)",
    ),
)


@functools.cache
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The named detectors, compiled when a text first passes the cheap look below:
    compiling them costs more than starting Python, and most commands' text never does."""
    return tuple((name, re.compile(pattern)) for name, pattern in _NAMED)


# A cheap first look: text holding none of these fragments cannot match a named pattern
# (each pattern needs one of them). Substring tests run at C speed, where one regular
# expression alternating over all of them costs microseconds per short string.
_HINTS = (
    "://", "-----", "PuTTY", "eyJ", "k_live_", "k_test_", "sk-", "hf_", "gsk_", "gh", "gl",
    "github_pat_", "AIza", "npm_", "pypi-", "SG.", "sq0", "-us", "AKC", "AP", "AC", "SK",
    "A3T", "ABIA", "ACCA", "KIA", "SIA", "GPA", "IDA", "ROA", "NPA", "NVA", "IPA",
    "GR1348941", "BEGIN",
)  # fmt: skip
# Every keyword of the ``key = value`` and header detectors contains one of these.
_LOWER_HINTS = (
    "aws", "xox", "bearer", "token", "basic", "key", "pass", "pw", "secret", "auth",
    "credential", "sig=", "signature",
)  # fmt: skip
# "tokens" alone cannot match: every detector's "token" is followed by another character
# (``token(?!s)``, ``token\s``, ``_authToken=``). It is in the field names of every
# ``--json`` report of calls (``input_tokens``), which would otherwise compile all the
# detectors on each run of ``outcomes models --json``.
_LOWER_HINTS_BUT_TOKEN = tuple(h for h in _LOWER_HINTS if h != "token")
_TELEGRAM_HINT = r"\d{8}:"
_TOKEN = rf"[A-Za-z0-9+/=_-]{{{ENTROPY_MIN_CHARS},}}"
_HEX = r"[0-9a-fA-F]+"


@functools.cache
def _pattern(source: str) -> re.Pattern[str]:
    """``re.compile(source)`` on first use: each takes about 0.1 ms, and a command whose
    text passes no cheap look (``outcomes models --json``) needs none of these."""
    return re.compile(source)


def may_hold_secret(text: str) -> bool:
    """False only when no named detector can match ``text`` (a cheap first look)."""
    if any(map(text.__contains__, _HINTS)) or text.count(".") >= 2:
        return True
    if ":" in text and _pattern(_TELEGRAM_HINT).search(text):
        return True
    lower = text.lower()
    if any(map(lower.__contains__, _LOWER_HINTS_BUT_TOKEN)):
        return True
    at = lower.find("token")
    while at >= 0:
        if lower[at + 5 : at + 6] != "s":
            return True
        at = lower.find("token", at + 1)
    return False


def none_may_hold_secret(texts: list[str]) -> bool:
    """True only when :func:`may_hold_secret` is false for every one of ``texts``: one
    look at them all, joined by newlines, for a batch of ids. Sound because none of the
    texts may hold a newline (checked), so no hint spans two of them, and each rule of
    :func:`may_hold_secret` finds in a longer text whatever it finds in a part of it."""
    joined = "\n".join(texts)
    return joined.count("\n") == max(len(texts) - 1, 0) and not may_hold_secret(joined)


def entropy_bits(token: str) -> float:
    """Shannon entropy of ``token`` in bits per character (0 for an empty string)."""
    if not token:
        return 0.0
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


def looks_random(token: str) -> bool:
    """Whether ``token`` looks like a random credential by the entropy rule."""
    core = token.strip("=")
    if len(core) >= HEX_MIN_CHARS and _pattern(_HEX).fullmatch(core):
        return (
            any(c.isdigit() for c in core)
            and any(c.isalpha() for c in core)
            and entropy_bits(core) >= 3.0
        )
    if len(core) < ENTROPY_MIN_CHARS:
        return False
    has_upper = any(c.isupper() for c in core)
    has_lower = any(c.islower() for c in core)
    has_digit = any(c.isdigit() for c in core)
    return has_upper and has_lower and has_digit and entropy_bits(core) >= ENTROPY_BITS


def find_named(text: str) -> str | None:
    """The name of the first named detector that matches ``text``, or ``None``."""
    if not may_hold_secret(text):
        return None
    for name, pattern in _compiled():
        if pattern.search(text):
            return name
    return None


_AWS_ID = r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"
_AWS_SECRET_NEAR_ID = r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"


def substitute_named(text: str, replacement: str) -> str:
    """Replace every named-detector match in ``text`` with ``replacement``, and any
    40-character AWS secret key in a text that names an AWS access key id."""
    if not may_hold_secret(text):
        return text
    if _pattern(_AWS_ID).search(text):
        text = _pattern(_AWS_SECRET_NEAR_ID).sub(replacement, text)

    def sub(match: re.Match[str]) -> str:
        keep = match.groupdict().get("keep")
        return (keep or "") + replacement

    for _, pattern in _compiled():
        text = pattern.sub(sub, text)
    return text


def substitute_random(text: str, replacement: str) -> str:
    """Replace every token the entropy rule flags with ``replacement``."""
    return _pattern(_TOKEN).sub(
        lambda m: replacement if looks_random(m.group()) else m.group(), text
    )
