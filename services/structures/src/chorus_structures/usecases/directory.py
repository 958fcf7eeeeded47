"""Reading the directory of structures: one by id, integer id or identifier, the search,
and structures' services.

Any authenticated caller may read a structure whose id or exact identifier they know (an
invoice's counterpart, the company they join); the search finds public structures and the
caller's own, and a private structure of others only by its exact identifier
(``domain/search.py``). Integer ids (``cpp_id``, the Chorus Pro-compatible API's) can be
guessed: a look-up by one follows the search's rule (:func:`may_find`). A caller without a
token (``caller`` None: invoices' flow worker, which checks recipients after the depositor's
token is gone) reads public structures only, by id or identifier — public directory data
(:func:`anonymous_view`) — and is told a private one does not exist. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import Caller
from chorus_structures.domain.identifiers import IdentifierType, validate_identifier
from chorus_structures.domain.paging import NumberedPage
from chorus_structures.domain.search import (
    SearchCriteria,
    anonymous_view,
    encode_page_token,
    may_find,
)
from chorus_structures.domain.services import service_not_found
from chorus_structures.domain.structure import (
    Reference,
    Structure,
    StructureKind,
    StructureService,
    require_structure,
)
from chorus_structures.store import memberships, services, structures


@dataclass(frozen=True)
class SearchResults:
    structures: list[Structure]
    # Empty on the last page (and with numbered pages).
    next_page_token: str
    # How many structures match in all (numbered pages only; 0 otherwise).
    total: int = 0
    # Those of ``structures`` that have a principal manager (who answers join requests).
    managed: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class ServicePage:
    structure: Structure
    services: list[StructureService]
    # How many services match, across every page.
    total: int


async def _may_find(conn: asyncpg.Connection, caller: Caller, structure: Structure) -> bool:
    member = False
    if not caller.is_technical and structure.kind is StructureKind.PRIVEE:
        member = await memberships.role_of(conn, structure.id, caller.user_id) is not None
    return may_find(structure, caller, member=member)


async def structure_by_reference(
    conn: asyncpg.Connection, caller: Caller | None, reference: Reference
) -> Structure | None:
    """The structure named by id (for anyone) or by integer id (only if ``caller`` may find
    it); None otherwise. Without a caller (no token), a public structure only, as
    :func:`anonymous_view` shows it."""
    structure_id = reference.id
    if reference.cpp_id is not None:
        structure_id = await structures.find_id_by_cpp_id(conn, reference.cpp_id)
    if structure_id is None:
        return None
    structure = await structures.get_structure(conn, structure_id)
    if structure is None:
        return None
    if caller is None:
        return anonymous_view(structure)
    if reference.guessable and not await _may_find(conn, caller, structure):
        return None
    return structure


class Directory:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get(self, structure_id: UUID) -> Structure:
        """The structure with its services and routing. Errors: STRUCTURE_NOT_FOUND."""
        async with self._uow.reading() as conn:
            structure = await structures.get_structure(conn, structure_id)
        return require_structure(structure)

    async def get_by_reference(self, caller: Caller | None, reference: Reference) -> Structure:
        """The structure named by id or integer id; by integer id a private structure only
        for its members and technical accounts; without a caller (no token), a public
        structure only. Errors: STRUCTURE_NOT_FOUND."""
        async with self._uow.reading() as conn:
            structure = await structure_by_reference(conn, caller, reference)
        return require_structure(structure)

    async def list_services(
        self, caller: Caller, structure: Reference, page: NumberedPage, *, only_active: bool
    ) -> ServicePage:
        """A page of the structure's services by code (active ones only if asked) and their
        total. Errors: STRUCTURE_NOT_FOUND (also a private structure named by integer id to
        someone not allowed to find it)."""
        async with self._uow.reading(snapshot=True) as conn:
            found = require_structure(await structure_by_reference(conn, caller, structure))
            page_services, total = await services.page_of_services(
                conn, found.id, only_active=only_active, offset=page.offset, limit=page.size
            )
        return ServicePage(found, page_services, total)

    async def get_service(
        self, caller: Caller, service: Reference, structure: Reference | None
    ) -> tuple[StructureService, Structure]:
        """The service named by id or integer id, with its structure; when ``structure`` is
        given, the service must belong to it. By integer id (the service's or the
        structure's), a service of a private structure only for its members and technical
        accounts. Errors: SERVICE_NOT_FOUND."""
        async with self._uow.reading(snapshot=True) as conn:
            found = await services.find_service(conn, service_id=service.id, cpp_id=service.cpp_id)
            if found is None:
                raise service_not_found()
            structure_id, stored = found
            owner = require_structure(await structures.get_structure(conn, structure_id))
            if structure is not None and (
                structure.id not in (None, owner.id) or structure.cpp_id not in (None, owner.cpp_id)
            ):
                raise service_not_found()
            guessable = service.guessable or (structure is not None and structure.guessable)
            if guessable and not await _may_find(conn, caller, owner):
                raise service_not_found()
        return stored, owner

    async def find_by_identifier(
        self, caller: Caller | None, identifier_type: IdentifierType | None, identifier: str
    ) -> Structure:
        """The structure registered under the identifier, normalised as at creation: any
        structure for a caller, a public one only without a caller (no token).
        Errors: the identifier rules' reasons; STRUCTURE_NOT_FOUND."""
        checked = validate_identifier(identifier_type, identifier)
        async with self._uow.reading() as conn:
            structure_id = await structures.find_id_by_identifier(conn, checked)
            structure = await structures.get_structure(conn, structure_id) if structure_id else None
        if structure is not None and caller is None:
            structure = anonymous_view(structure)
        return require_structure(structure)

    async def search(self, caller: Caller, criteria: SearchCriteria) -> SearchResults:
        """One page of the structures matching ``criteria`` that ``caller`` may find (read in
        one snapshot, the similarity threshold being set for it only): with keyset pages, the
        next page's token (an exact look-up answers the one structure with that identifier,
        if it passes the other filters, on a single page); with numbered pages, the total;
        and which of them have a principal manager."""
        async with self._uow.reading(snapshot=True) as conn:
            if criteria.numbered is not None:
                found, total = await structures.search_numbered(conn, criteria, viewer=caller)
                managed = await memberships.structures_with_principal(conn, (s.id for s in found))
                return SearchResults(found, "", total, managed)
            found, cursor = await structures.search_structures(conn, criteria, viewer=caller)
            managed = await memberships.structures_with_principal(conn, (s.id for s in found))
        token = encode_page_token(criteria, cursor) if cursor else ""
        return SearchResults(found, token, managed=managed)
