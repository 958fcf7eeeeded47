"""What every group of handlers reads: the database pool, the settings, identity."""

from __future__ import annotations

import asyncpg

from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.config import StructuresSettings


class Handlers:
    """Base of the handler groups the servicer is made of."""

    def __init__(
        self, pool: asyncpg.Pool, settings: StructuresSettings, identity: IdentityDirectory
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._identity = identity
