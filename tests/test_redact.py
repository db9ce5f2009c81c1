"""Privacy bounds: caps on a character boundary, secrets scrubbed before the cap."""

from __future__ import annotations

import pytest
from hypothesis import given
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


def test_a_column_is_scrubbed_as_each_of_its_values() -> None:
    key = "sk-proj-abcdefghijklmnop1234"
    column = ["gpt-x", f"failed: {key}", None, b"\x00" * 16, "gpt-x", f"failed: {key}", 7]
    scrubbed = scrub_column(column)
    assert scrubbed == [scrub_columns((v,), (0,))[0] for v in column]
    assert key not in str(scrubbed)
    assert scrub_column(["a", "b", None]) == ["a", "b", None]
    assert scrub_column([[key], None]) == [[key], None]  # not text: kept as it is
