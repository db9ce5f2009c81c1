"""Privacy bounds: caps on a character boundary, secrets scrubbed before the cap."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from outcomes._redact import (
    MAX_TEXT_CHARS,
    REDACTED,
    cap,
    clean_text,
    redact,
    scrub_column,
    scrub_columns,
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "Incorrect API key provided: sk-proj-abcdefghijklmnop1234",
            "sk-proj-abcdefghijklmnop1234",
        ),
        ("anthropic key sk-ant-api03-AAAABBBBCCCCDDDD", "sk-ant-api03-AAAABBBBCCCCDDDD"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("GET /v1?api_key=abc123def456&x=1", "abc123def456"),
        ('{"password": "hunter2hunter2"}', "hunter2hunter2"),
        ("aws AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE"),
        ("token=ghp_" + "a" * 36, "ghp_" + "a" * 36),
        ("connect postgresql://bob:s3cretpw@db.internal/app failed", "s3cretpw"),
        ("x-goog key AIza" + "B" * 35, "AIza" + "B" * 35),
    ],
)
def test_secrets_are_scrubbed(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    ["max_tokens=4096 exceeds the limit", "429 Too Many Requests", "401 Unauthorized: bad request"],
)
def test_harmless_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_cap_cuts_on_a_character_boundary_with_an_ellipsis() -> None:
    text = "é" * 300
    out = cap(text)
    assert out == "é" * MAX_TEXT_CHARS + "…"
    assert cap("short") == "short"


def test_a_secret_straddling_the_cap_leaks_no_prefix() -> None:
    secret = "sk-" + "Z" * 40
    text = "x" * 240 + " " + secret
    out = redact(text)
    assert "ZZZZ" not in out


def test_unstorable_characters_are_replaced() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("bad \ud800 surrogate").encode("utf-8")


@given(st.text(max_size=3_000))
def test_redact_is_bounded_and_idempotent(text: str) -> None:
    out = redact(text)
    assert len(out) <= MAX_TEXT_CHARS + 1
    out.encode("utf-8")
    assert redact(out) == out or len(out) == MAX_TEXT_CHARS + 1


def test_unique_ids_are_checked_each_time_and_not_remembered() -> None:
    from outcomes import _redact
    from outcomes.errors import ValidationError

    before = len(_redact._CLEAN_LABELS)
    for i in range(100):
        assert _redact.refuse_secret(f"trace-{i}-unseen", "trace_id", unique=True)
    assert len(_redact._CLEAN_LABELS) == before  # labels keep the room
    token = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    with pytest.raises(ValidationError, match="credential"):
        _redact.refuse_secret(token, "trace_id", unique=True)


def test_a_column_is_scrubbed_as_each_of_its_values() -> None:
    key = "sk-proj-abcdefghijklmnop1234"
    column = ["gpt-x", f"failed: {key}", None, b"\x00" * 16, "gpt-x", f"failed: {key}", 7]
    scrubbed = scrub_column(column)
    assert scrubbed == [scrub_columns((v,), (0,))[0] for v in column]
    assert key not in str(scrubbed)
    assert scrub_column(["a", "b", None]) == ["a", "b", None]
    assert scrub_column([[key], None]) == [[key], None]  # not text: kept as it is


_FRAGMENTS = (
    "tokens", "token", "Token", "TOKENS", "_", "-", ".", "=", ": ", " ", "\"", "'", "x",
    "input", "auth", "_authToken", "//reg/:", "abcDEF123456789xyz", "Zm9vYmFyYmF6cXV4", "9",
)  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join))
@example("token abcDEF123456789xyz")
@example("tokens Token abcDEF123456789xyz")
@example("input_tokens x_token=abcDEF123456789xyz")
@example("//reg/:_authToken=abcDEF123456789xyz")
def test_the_first_look_passes_every_text_a_named_detector_matches(text: str) -> None:
    # The cheap first look may let a clean text through to the detectors, never keep a
    # secret from them: "tokens" alone is not a hint, "token" followed by anything else is.
    from outcomes._secrets import _compiled, may_hold_secret

    if any(p.search(text) for _, p in _compiled()):
        assert may_hold_secret(text)


@pytest.mark.parametrize("name", ["input_tokens", "output_tokens", "quality_per_1k_tokens"])
def test_the_token_counts_of_a_report_wake_no_detector(name: str) -> None:
    from outcomes._secrets import may_hold_secret

    assert not may_hold_secret(name)
    assert redact(f"{name}: 12") == f"{name}: 12"
