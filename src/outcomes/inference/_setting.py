"""A tracker attribute that lives on one of its rooms, and the check of the tracker's
durations."""

from __future__ import annotations

import math
from typing import Generic, TypeVar, cast, overload

from outcomes.errors import ValidationError

T = TypeVar("T")


def check_seconds(value: float, where: str, *, positive: bool) -> None:
    ok = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ValidationError(f"{where} must be {'>' if positive else '>='} 0 seconds", where=where)


class Setting(Generic[T]):
    """A tracker attribute that lives on one of its rooms: read and set through.

    The rooms hold the settings they use (``_ctx.clock``, ``_limits.default_cooldown``);
    this keeps the tracker's public attribute names working without a getter/setter pair
    for each.
    """

    def __init__(self, room: str, doc: str) -> None:
        self._room = room
        self._name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, tracker: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, tracker: object, owner: type | None = None) -> T: ...

    def __get__(self, tracker: object, owner: type | None = None) -> T | Setting[T]:
        if tracker is None:
            return self
        return cast("T", getattr(getattr(tracker, self._room), self._name))

    def __set__(self, tracker: object, value: T) -> None:
        setattr(getattr(tracker, self._room), self._name, value)


__all__ = ["Setting", "check_seconds"]
