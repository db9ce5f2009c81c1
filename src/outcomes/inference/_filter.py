"""Which calls a profile read covers: task, project, tag, and how recent.

A :class:`ProfileFilter` is passed down from the faces (CLI, HTTP API) to the inference
layer, which decides how to answer it. Task and project are dimensions of the profile
state itself, so they cost nothing. A tag or a start time selects *calls*: the receipts
of the matching calls are folded afresh (streamed, named queries below), always whole
supersession chains, so a late signal is never taken back from a call that was left out:

- ``tag``: calls tagged so by feedback (``trace_tags``);
- ``since``: calls whose first receipt (completion or failure) is at or after ``since``;
  a signal arriving later still counts for them. Alone, this is answered from the
  rollups and the receipts at the edge (``_since.py``), without walking the receipts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from outcomes.errors import ValidationError
from outcomes.inference._fold import INFERENCE_KIND, ProfileBook
from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, FOLD_FIELDS, ProfileState
from outcomes.inference._queries import (
    FOLD_ROWS_SINCE,
    FOLD_ROWS_TAGGED,
    FOLD_ROWS_TAGGED_SINCE,
)
from outcomes.inference._since import since_state
from outcomes.inference._validate import check_label
from outcomes.inference._view import ModelProfile, profiles_of
from outcomes.records import validate_task
from outcomes.store import ROLLUP_HALF_LIFE_S, Store

_N = len(FOLD_FIELDS)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 7 * 86_400.0}


def parse_since(text: str, now: float) -> float:
    """Unix time ``text`` ago (``90m``, ``12h``, ``7d``, ``2w``) before ``now``.

    Raises :class:`ValidationError` naming the accepted forms.
    """
    m = _DURATION_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValidationError(
            f"since must be a duration such as 90m, 12h, 7d or 2w, got {str(text)[:40]!r}",
            where="since",
        )
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if not math.isfinite(seconds):
        raise ValidationError("since is too large", where="since")
    return now - seconds


@dataclass(frozen=True, slots=True)
class ProfileFilter:
    """The calls a profile read covers; every field ``None`` means all of them.

    ``since`` is a Unix time (see :func:`parse_since` for ``7d``). Construction checks
    the values and raises :class:`ValidationError` naming the one at fault.
    """

    task: str | None = None
    project_id: str | None = None
    tag: str | None = None
    since: float | None = None

    def __post_init__(self) -> None:
        if self.task is not None:
            validate_task(self.task)
        check_label(self.project_id, "project")
        if self.tag is not None:
            try:
                # Imported here: the feedback module loads the whole call lifecycle, which a
                # leaderboard without --tag (outcomes models --json) does not need.
                from outcomes.inference._feedback import check_tags

                check_tags([self.tag])
            except ValidationError as exc:
                raise ValidationError(exc.reason, where="tag") from None
        if self.since is not None and (
            isinstance(self.since, bool)
            or not isinstance(self.since, int | float)
            or not math.isfinite(self.since)
        ):
            raise ValidationError(f"since must be a Unix time, got {self.since!r}", where="since")

    @property
    def selects_calls(self) -> bool:
        """Whether the filter selects calls (tag, since) rather than profile cells."""
        return self.tag is not None or self.since is not None


def fold_matching(
    store: Store, flt: ProfileFilter, *, half_life: float = DEFAULT_HALF_LIFE_S
) -> ProfileState:
    """A fresh state folded from the receipts of the calls ``flt`` selects (streamed;
    task and project are left to the read, as for every state).

    ``since`` alone, at the rollups' half-life, is read from the rollups and the
    receipts at the edge (:func:`~outcomes.inference._since.since_state`): the same
    numbers but ``ema_quality``, which is then the whole history's."""
    if flt.tag is None and flt.since is not None and half_life == ROLLUP_HALF_LIFE_S:
        from_rollups = since_state(store, flt.since)
        if from_rollups is not None:
            return from_rollups
    state = ProfileState(half_life=half_life)
    kind = INFERENCE_KIND
    if flt.tag is not None and flt.since is not None:
        rows = store.iter_query(FOLD_ROWS_TAGGED_SINCE, (kind, kind, float(flt.since), flt.tag))
    elif flt.tag is not None:
        rows = store.iter_query(FOLD_ROWS_TAGGED, (kind, flt.tag))
    else:
        rows = store.iter_query(FOLD_ROWS_SINCE, (kind, kind, float(flt.since or 0.0)))
    fold = state.fold_values
    for row in rows:
        fold(*row[:_N])
    return state


def matching_profiles(
    store: Store, flt: ProfileFilter, *, book: ProfileBook | None = None
) -> list[ModelProfile]:
    """Profiles of every model with data for ``flt``, by model id.

    Without a tag or a start time this is the book's (or a new book's) read; with one,
    the matching calls are folded afresh (:func:`fold_matching`).
    """
    if not flt.selects_calls:
        book = book if book is not None else ProfileBook(store)
        return book.profiles(task=flt.task, project_id=flt.project_id)
    half_life = book.half_life if book is not None else DEFAULT_HALF_LIFE_S
    state = fold_matching(store, flt, half_life=half_life)
    return profiles_of(state, task=flt.task, project_id=flt.project_id)
