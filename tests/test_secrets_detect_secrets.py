"""Our detectors stay in step with detect-secrets' (a maintained detector set): for every
regex detector it ships, strings generated from its own patterns that it flags are
scrubbed by ``redact``. A detector added upstream fails this test until ours cover it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes._redact import redact

detect_secrets_util = pytest.importorskip("detect_secrets.core.plugins.util")
from detect_secrets.plugins.base import RegexBasedDetector  # noqa: E402

# A public IP address is not a credential: it stays in error text on purpose.
NOT_SECRETS = {"IPPublicDetector"}


def _detectors() -> list[Any]:
    mapping = detect_secrets_util.get_mapping_from_secret_type_to_class()
    return sorted(
        (c for c in mapping.values() if issubclass(c, RegexBasedDetector)),
        key=lambda c: c.__name__,
    )


CASES = [
    pytest.param(cls, pattern, id=f"{cls.__name__}-{i}")
    for cls in _detectors()
    if cls.__name__ not in NOT_SECRETS
    for i, pattern in enumerate(cls.denylist)
]


def test_every_regex_detector_of_detect_secrets_is_covered() -> None:
    names = {cls.__name__ for cls in _detectors()}
    assert len(names) >= 20  # the installed detect-secrets really was inspected
    assert len(CASES) >= 30


@pytest.mark.parametrize(("detector", "pattern"), CASES)
def test_what_detect_secrets_flags_redact_removes(detector: Any, pattern: Any) -> None:
    plugin = detector()

    @settings(
        max_examples=40,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.from_regex(pattern))
    def check(line: str) -> None:
        for found in plugin.analyze_line(filename="x.txt", line=line, line_number=1):
            value = found.secret_value
            if value and len(value) >= 8:
                # At least the occurrence detect-secrets flagged is gone (a generated line
                # may repeat the same characters elsewhere, in a user name for instance).
                assert redact(line, limit=1 << 20).count(value) < line.count(value), line

    check()
