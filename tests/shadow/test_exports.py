"""``outcomes.shadow.__all__`` is sorted and lists exactly the package's public names."""

from __future__ import annotations

import outcomes.shadow as shadow


def test_all_is_sorted_and_complete() -> None:
    assert shadow.__all__ == sorted(shadow.__all__, key=lambda n: (not n.isupper(), n))
    public = {
        n
        for n in dir(shadow)
        if not n.startswith("_")
        and n != "annotations"
        and not getattr(getattr(shadow, n), "__name__", "").startswith("outcomes.")
    }
    assert public == set(shadow.__all__)
