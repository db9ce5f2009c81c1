"""``outcomes.__all__`` is the curated public API: sorted, complete, importable."""

from __future__ import annotations

import outcomes


def test_all_is_sorted_and_unique() -> None:
    names = [n for n in outcomes.__all__ if n != "__version__"]
    assert names == sorted(names)
    assert len(set(outcomes.__all__)) == len(outcomes.__all__)


def test_all_matches_the_public_names_of_the_package() -> None:
    public = {
        name
        for name in dir(outcomes)
        if not name.startswith("_")
        and name != "annotations"
        and not getattr(getattr(outcomes, name), "__name__", "").startswith("outcomes.")
    }
    # Submodules (outcomes.store, outcomes.records, ...) are namespaces, not exports.
    assert public == set(outcomes.__all__) - {"__version__"}


def test_every_exported_name_resolves() -> None:
    for name in outcomes.__all__:
        assert getattr(outcomes, name) is not None
