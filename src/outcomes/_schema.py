"""Every migration list there is, so ``outcomes db migrate`` and ``outcomes serve`` build
the whole schema.

The core applies its own migrations on open; each wing applies its list when it binds to
a store. This module is the faces' view of all of them, in application order: it imports
every wing, so only faces (``cli``, ``server``, ``demo``) import it, never a wing or the core.
"""

from __future__ import annotations

from outcomes.components import MIGRATIONS as COMPONENT_MIGRATIONS
from outcomes.inference import SIGNAL_MIGRATIONS
from outcomes.shadow import MIGRATIONS as SHADOW_MIGRATIONS
from outcomes.store import CORE_MIGRATIONS, Migration
from outcomes.trajectory import MIGRATIONS as TRAJECTORY_MIGRATIONS

ALL_MIGRATIONS: tuple[Migration, ...] = (
    *CORE_MIGRATIONS,
    *COMPONENT_MIGRATIONS,
    *TRAJECTORY_MIGRATIONS,
    *SHADOW_MIGRATIONS,
    *SIGNAL_MIGRATIONS,
)
