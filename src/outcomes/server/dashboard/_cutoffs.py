"""When each model was cut off, and why: the router's and the tracker's rules replayed
over stored calls.

A serve process only knows its own cooldowns, and forgets them on restart. The receipts
hold what those rules read (each call's outcome and scrubbed error text, in time order),
so replaying the rules over them gives the same cut-offs from any process sharing the
store, before and after a restart:

- the tracker's rate-limit rule (``cooldown_for``): a rate-limited failure cools its model
  down for the Retry-After found in the error text, else the default cooldown;
- the router's circuit breaker (``Breaker``): failures in a row trip it, for a cooldown
  that doubles per trip until a success.

These are what the rules *would have* done with every process's calls seen together (a
live process sees only its own); a call made while its model was cut off still counts,
as it would for the live rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from outcomes.inference._limits import DEFAULT_COOLDOWN_S, cooldown_for
from outcomes.routing._breaker import BASE_S, MAX_S, TRIP_AFTER, Breaker

Data = dict[str, Any]
CAUSES = (
    "rate limit cooldown", "retry-after cooldown", "breaker: rate limits", "breaker: timeouts",
    "breaker: server errors", "breaker: other errors",
)  # fmt: skip
"""Why a model was cut off: the rate-limit rule (a rate limit, or another failure that
carried a Retry-After), or the breaker, named after the kind most of the failures that
tripped it were."""
_BREAKER_CAUSE = {
    "rate_limit": "breaker: rate limits", "timeout": "breaker: timeouts",
    "server_error": "breaker: server errors",
}  # fmt: skip


def cutoffs(
    calls: Iterable[tuple[float, str, Any, str | None]], kind_of: Callable[[str], str]
) -> list[Data]:
    """The cut-offs of ``calls`` (timestamp, model, failed, error; oldest first): one per
    run of cooldowns of a model for one cause (a cooldown that starts before the running
    one of the same cause ends extends it, and ``cooldowns`` counts them), oldest first.
    A failure is a call that failed with an error text; a quality failure (no error) is
    not one for either rule, and resets the breaker as a success does."""
    breakers: dict[str, Breaker] = {}
    tripping: dict[str, list[str]] = {}
    running: dict[tuple[str, str], Data] = {}
    out: list[Data] = []

    def cut(model: str, cause: str, start: float, seconds: float) -> None:
        c = running.get((model, cause))
        if c is not None and start <= c["until"]:
            c["until"] = max(c["until"], start + seconds)
            c["cooldowns"] += 1
        else:
            c = {"model_id": model, "cause": cause, "start": start, "until": start + seconds,
                 "cooldowns": 1}  # fmt: skip
            running[(model, cause)] = c
            out.append(c)

    for ts, model, failed, error in calls:
        if not failed or not error:
            # Most calls: only a model with failures in its breaker has anything to reset.
            if model in breakers:
                del breakers[model]
                tripping.pop(model, None)
            continue
        b = breakers.setdefault(model, Breaker())
        kinds = tripping.setdefault(model, [])
        limited, wait = cooldown_for(error, None)
        if wait is not None:
            cut(model, "rate limit cooldown" if limited else "retry-after cooldown", ts, wait)
        kinds.append(kind_of(error))
        seconds = b.fail(ts)
        if seconds is not None:
            top = Counter(kinds).most_common(1)[0][0]
            cut(model, _BREAKER_CAUSE.get(top, "breaker: other errors"), ts, seconds)
            kinds.clear()
    for c in out:
        c["seconds"] = c["until"] - c["start"]
    return out


def summary(cuts: list[Data]) -> list[Data]:
    """Per model and cause: how many cut-offs, their seconds in total, the longest."""
    acc: dict[tuple[str, str], Data] = {}
    for c in cuts:
        s = acc.setdefault(
            (c["model_id"], c["cause"]),
            {"model_id": c["model_id"], "cause": c["cause"], "cutoffs": 0, "seconds": 0.0,
             "longest_s": 0.0},
        )  # fmt: skip
        s["cutoffs"] += 1
        s["seconds"] += c["seconds"]
        s["longest_s"] = max(s["longest_s"], c["seconds"])
    return sorted(acc.values(), key=lambda s: (-s["seconds"], s["model_id"], s["cause"]))


RULES = {
    "rate_limit_default_cooldown_s": DEFAULT_COOLDOWN_S,
    "breaker_failures_in_a_row": TRIP_AFTER,
    "breaker_base_s": BASE_S,
    "breaker_max_s": MAX_S,
}
"""The rules' settings the replay uses (the library's defaults), shown with the page."""
