"""``cli._json`` writes what ``json.dumps(indent=2, ensure_ascii=False)`` writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.cli import _json

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(_VALUES)
def test_dumps_is_json_dumps_with_indent_two(value: Any) -> None:
    assert _json.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_dumps_writes_escapes_and_unicode_as_json_does() -> None:
    value = {'a"b\\\n\t\x01\x7f': ["é", "\u2028", "😀", [], {}, 1.5e300, -0.0, True]}
    assert _json.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _json.dumps({"x": {1, 2}})


def test_print_json_prints_non_finite_floats_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    _json.print_json({"x": [float("nan"), float("inf"), 2.0], 3: "y"})
    assert (
        capsys.readouterr().out
        == '{\n  "x": [\n    null,\n    null,\n    2.0\n  ],\n  "3": "y"\n}\n'
    )
