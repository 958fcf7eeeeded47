"""``seed-demo``: registers the demo public structures, idempotently.

The data lives in ``demo_structures.json`` beside this module. A structure already registered
is left as it is, except that services it lacks are added; only structures
created by this run emit StructureCreated (with an empty ``created_by``).
"""

from __future__ import annotations

import json
import logging
from importlib import resources

import asyncpg

from chorus_structures.domain.identifiers import IdentifierType, validate_identifier
from chorus_structures.domain.structure import (
    Address,
    NewService,
    NewStructure,
    RoutingParameters,
    StructureKind,
)
from chorus_structures.seed import unit_of_work
from chorus_structures.usecases.registration import KnownStructures

log = logging.getLogger(__name__)


def demo_structures() -> list[NewStructure]:
    """The demo structures from the data file, identifiers checked like any other."""
    text = resources.files(__package__).joinpath("demo_structures.json").read_text("utf-8")
    return [_structure(entry) for entry in json.loads(text)["structures"]]


def _structure(entry: dict) -> NewStructure:
    return NewStructure(
        identifier=validate_identifier(
            IdentifierType(entry["identifier_type"]), entry["identifier"]
        ),
        raison_sociale=entry["raison_sociale"],
        libelle=entry.get("libelle", ""),
        kind=StructureKind(entry.get("kind", StructureKind.PUBLIQUE)),
        address=Address(**entry["address"]),
        email=entry.get("email", ""),
        routing=RoutingParameters(**entry.get("routing", {})),
        services=tuple(NewService(**service) for service in entry.get("services", [])),
    )


async def seed_demo_structures(pool: asyncpg.Pool) -> int:
    """Registers the missing demo structures; returns how many were created."""
    known = KnownStructures(unit_of_work(pool))
    created = 0
    for new in demo_structures():
        was_created = await known.ensure(new)
        if was_created:
            created += 1
        log.info(
            "demo structure %s",
            "created" if was_created else "already present",
            extra={"identifier": new.identifier.value},
        )
    return created
