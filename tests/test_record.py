"""``outcomes._record.record`` behaves as ``@dataclass(slots=True)`` for the statistics,
and the fast read path loads no ``dataclasses``."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from outcomes._record import field, record


@record()
class _Cell:
    name: str
    count: int = 0
    seen: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count must be >= 0")


@record(frozen=True)
class _Point:
    x: float
    y: float = 1.0


@dataclasses.dataclass(slots=True)
class _CellDC:
    name: str
    count: int = 0
    seen: list[int] = dataclasses.field(default_factory=list)


def test_init_defaults_factories_and_post_init() -> None:
    a, b = _Cell("a"), _Cell("a", 2, [1])
    assert (a.name, a.count, a.seen, b.count, b.seen) == ("a", 0, [], 2, [1])
    a.seen.append(5)
    assert _Cell("a").seen == []  # a new list per instance
    with pytest.raises(ValueError, match="count"):
        _Cell("a", -1)
    with pytest.raises(TypeError):
        _Cell()  # type: ignore[call-arg]


def test_repr_eq_and_slots_as_a_dataclass() -> None:
    assert repr(_Cell("a", 2, [1])).replace("_Cell(", "") == repr(_CellDC("a", 2, [1])).replace(
        "_CellDC(", ""
    )
    assert _Cell("a", 1) == _Cell("a", 1)
    assert _Cell("a", 1) != _Cell("a", 2)
    assert _Cell("a") != _CellDC("a")
    assert _Cell.__slots__ == ("name", "count", "seen")
    assert _Cell.__match_args__ == ("name", "count", "seen")
    assert not hasattr(_Cell("a"), "__dict__")
    with pytest.raises(TypeError):
        hash(_Cell("a"))


def test_frozen_is_hashable_and_refuses_assignment() -> None:
    p = _Point(0.5)
    assert p == _Point(0.5, 1.0)
    assert hash(p) == hash(_Point(0.5, 1.0))
    assert len({p, _Point(0.5), _Point(2.0)}) == 2
    with pytest.raises(AttributeError, match="frozen"):
        p.x = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del p.y  # type: ignore[misc]


def test_fast_models_loads_no_dataclasses(tmp_path: Path) -> None:
    from outcomes.store import SQLiteStore

    db = tmp_path / "s.db"
    SQLiteStore(db).close()
    code = (
        "import sys\nfrom outcomes.cli import _fast\n"
        f"assert _fast.run(['models', '--json', '--db', 'sqlite:///{db}'])\n"
        "assert _fast.run(['ledger', 'stats', '--json', '--db', 'sqlite:///{db}'])\n"
        "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))"
    ).replace("{db}", str(db))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "[]"


def test_what_dataclasses_would_treat_otherwise_is_refused() -> None:
    class Base:
        a: int

    with pytest.raises(TypeError, match="inherited from Base"):

        @record()
        class Child(Base):
            b: int

    with pytest.raises(TypeError, match="not a field"):

        @record()
        class WithClassVar:
            limit: ClassVar[int]
            b: int = 0


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_records_pickle_and_copy_as_dataclasses_do(protocol: int) -> None:
    """Frozen ones too (a frozen record refuses ``setattr``, which unpickling used)."""
    from outcomes import stats
    from outcomes.inference._view import TaskStats
    from outcomes.stats._sketch import LatencySketch

    cell = _Cell("a", 2, [1, 2])
    sketch = LatencySketch()
    sketch.add(0.25)
    values = [
        cell, _Point(1.5), _Point(2.0, -0.0), stats.beta_posterior(3, 1), stats.DecayedMean(3600.0),
        stats.Histogram(stats.LATENCY_BUCKETS_S), sketch, TaskStats(3, 2, 1, 0, 12.5, 0.5),
    ]  # fmt: skip
    for value in values:
        back = pickle.loads(pickle.dumps(value, protocol))
        assert type(back) is type(value)
        assert repr(back) == repr(value)
        assert back == value
        assert copy.copy(value) == value
        assert copy.deepcopy(value) == value
    assert copy.deepcopy(cell).seen is not cell.seen
    with pytest.raises(AttributeError):
        pickle.loads(pickle.dumps(_Point(1.0), protocol)).x = 2.0  # still frozen


def test_a_pickle_in_the_default_slots_form_still_loads() -> None:
    """What a non-frozen record pickled as before it defined ``__getstate__``."""
    cell = _Cell.__new__(_Cell)
    cell.__setstate__((None, {"name": "a", "count": 2, "seen": [1]}))
    assert cell == _Cell("a", 2, [1])
