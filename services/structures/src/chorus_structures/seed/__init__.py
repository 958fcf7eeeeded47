"""Demo data and the directory's command-line tools (``seed-demo``, ``import-directory``,
``generate-directory``): entry points like the server, writing through the same use cases."""

from __future__ import annotations

import asyncpg
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.events import outgoing


def unit_of_work(pool: asyncpg.Pool) -> UnitOfWork:
    """The unit of work the seed commands write through: the server's, events included."""
    return UnitOfWork(pool, service=outgoing.SERVICE, encode=outgoing.encode)
