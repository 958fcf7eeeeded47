"""Reading the directory of structures: one by id or by identifier, and the search.

Any authenticated caller may read a structure whose id or exact identifier they know (an
invoice's counterpart, the company they join); the search finds public structures and the
caller's own, and a private structure of others only by its exact identifier
(``domain/search.py``). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.identifiers import IdentifierType, validate_identifier
from chorus_structures.domain.search import SearchCriteria, encode_page_token
from chorus_structures.domain.structure import Structure, require_structure
from chorus_structures.store import structures


@dataclass(frozen=True)
class SearchResults:
    structures: list[Structure]
    # Empty on the last page.
    next_page_token: str


class Directory:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get(self, structure_id: UUID) -> Structure:
        """The structure with its services and routing. Errors: STRUCTURE_NOT_FOUND."""
        async with self._uow.reading() as conn:
            structure = await structures.get_structure(conn, structure_id)
        return require_structure(structure)

    async def find_by_identifier(
        self, identifier_type: IdentifierType | None, identifier: str
    ) -> Structure:
        """The structure registered under the identifier, normalised as at creation.
        Errors: the identifier rules' reasons; STRUCTURE_NOT_FOUND."""
        checked = validate_identifier(identifier_type, identifier)
        async with self._uow.reading() as conn:
            structure_id = await structures.find_id_by_identifier(conn, checked)
            structure = await structures.get_structure(conn, structure_id) if structure_id else None
        return require_structure(structure)

    async def search(self, viewer: UUID, criteria: SearchCriteria) -> SearchResults:
        """One page of the structures matching ``criteria`` that ``viewer`` may find (read in
        one snapshot, the similarity threshold being set for it only) and the next page's
        token. An exact look-up answers the one structure with that identifier, if it passes
        the kind and status filters, on a single page."""
        if criteria.exact is not None:
            return SearchResults(await self._exact(criteria), "")
        async with self._uow.reading(snapshot=True) as conn:
            found, cursor = await structures.search_structures(conn, criteria, viewer=viewer)
        return SearchResults(found, encode_page_token(criteria, cursor) if cursor else "")

    async def _exact(self, criteria: SearchCriteria) -> list[Structure]:
        assert criteria.exact is not None
        if criteria.after is not None:
            return []  # no page after the only one
        async with self._uow.reading() as conn:
            structure_id = await structures.find_id_by_identifier(conn, criteria.exact)
            structure = await structures.get_structure(conn, structure_id) if structure_id else None
        return [structure] if structure is not None and criteria.admits(structure) else []
