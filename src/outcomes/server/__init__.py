"""The HTTP service of ``outcomes`` (``outcomes serve``; the ``[server]`` extra).

:func:`create_app` builds the ASGI application on a tracker or a store; see
``docs/server.md`` for the endpoints, the error envelope and deployment.
"""

from __future__ import annotations

from outcomes.server._app import create_app
from outcomes.server._errors import ApiError
from outcomes.server._limits import ServerLimits

__all__ = ["ApiError", "ServerLimits", "create_app"]
