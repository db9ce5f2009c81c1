"""One line from the clients people already use: each submodule instruments one client
and needs that client's extra installed.

- :mod:`outcomes.integrations.openai` (``[openai]``): ``instrument(OpenAI())``;
- :mod:`outcomes.integrations.anthropic` (``[anthropic]``): ``instrument(Anthropic())``;
- :mod:`outcomes.integrations.litellm` (``[litellm]``): ``OutcomesLogger``, a LiteLLM
  callback, and ``OutcomesRoutingStrategy``, a LiteLLM router strategy;
- :mod:`outcomes.integrations.otel` (``[otel]``): ``OutcomesSpanExporter``, which records
  the GenAI spans an application already emits.

None of them stores prompt or answer text. The helpers here are shared by all of them:
the trace id of the last recorded call (for feedback attached later) and the default
tracker used when an integration is given none.
"""

from __future__ import annotations

from typing import Any

from outcomes.integrations._default import default_tracker
from outcomes.integrations._record import CHARS_PER_TOKEN, CallInfo, last_call, last_trace_id


def trace_id_of(result: Any) -> str | None:
    """The trace id an instrumented call attached to what it returned, or None."""
    value = getattr(result, "outcomes_trace_id", None)
    return value if isinstance(value, str) else None


__all__ = [
    "CHARS_PER_TOKEN",
    "CallInfo",
    "default_tracker",
    "last_call",
    "last_trace_id",
    "trace_id_of",
]
