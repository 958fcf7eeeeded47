"""Handlers for the directory: creating a structure, reading one, searching."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import draft_from_proto, uuid_from_request
from chorus_structures.api.request_fields import caller_id
from chorus_structures.contract import enum_from_proto, structure_to_proto
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.search import search_criteria
from chorus_structures.domain.structure import StructureKind, StructureStatus


class DirectoryHandlers(Handlers):
    async def CreateStructure(self, request, context):
        """Creates a structure; the caller becomes its GESTIONNAIRE_PRINCIPAL.

        The kind defaults to PRIVEE; the structure starts ACTIVE with its default open spaces.
        StructureCreated and MemberAdded are written in the same transaction.
        Errors: INVALID_ARGUMENT with the identifier's reason (IDENTIFIER_TYPE_REQUIRED,
        IDENTIFIER_REQUIRED, SIRET_FORMAT_INVALID, SIRET_CHECKSUM_INVALID, EU_VAT_INVALID,
        EU_VAT_FRENCH_NUMBER, IDENTIFIER_FORMAT_INVALID, RIDET_FORMAT_INVALID,
        TAHITI_FORMAT_INVALID, IDENTIFIER_TOO_LONG) or of the first other bad field
        (RAISON_SOCIALE_REQUIRED, RAISON_SOCIALE_TOO_LONG, LIBELLE_TOO_LONG, ADDRESS_INCOMPLETE,
        ADDRESS_FIELD_TOO_LONG, COUNTRY_INVALID, POSTAL_CODE_INVALID, EMAIL_INVALID,
        VAT_NUMBER_INVALID, PUBLIC_STRUCTURE_REQUIRES_SIRET), every bad field listed as a
        violation; PERMISSION_DENIED PUBLIC_CREATION_DISABLED for PUBLIQUE when
        ``allow_public_creation`` is off; ALREADY_EXISTS STRUCTURE_ALREADY_EXISTS.
        """
        structure = await self._usecases.registration.create(caller_id(), draft_from_proto(request))
        return pb.CreateStructureResponse(structure=structure_to_proto(structure))

    async def GetStructure(self, request, context):
        """One structure with its services and routing parameters; any caller who has its id
        may read it (ids are random: they reach a user through a membership, an invoice or an
        exact identifier look-up; the search lists no private structure of others).

        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID (not a UUID); NOT_FOUND STRUCTURE_NOT_FOUND.
        """
        caller_id()
        structure_id = uuid_from_request(
            request.structure_id, "structure_id", "STRUCTURE_ID_INVALID"
        )
        structure = await self._usecases.directory.get(structure_id)
        return pb.GetStructureResponse(structure=structure_to_proto(structure))

    async def FindStructureByIdentifier(self, request, context):
        """The structure registered under (identifier type, identifier).

        The identifier is normalised as at creation (a SIRET typed with spaces is found).
        Errors: INVALID_ARGUMENT with the identifier rule's reason (see CreateStructure);
        NOT_FOUND STRUCTURE_NOT_FOUND.
        """
        caller_id()
        structure = await self._usecases.directory.find_by_identifier(
            enum_from_proto(IdentifierType, request.identifier_type), request.identifier
        )
        return pb.FindStructureByIdentifierResponse(structure=structure_to_proto(structure))

    async def SearchStructures(self, request, context):
        """Searches the directory, keyset-paginated: public structures and the caller's own
        (any kind); a private structure of others only by an exact look-up.

        ``identifier_prefix`` (spaces ignored, at least 3 characters) matches the start of the
        identifier. ``name`` is matched against the raison sociale and libellé, case and
        accents ignored: structures holding every word come first, then names similar enough
        to tolerate typos (pg_trgm word similarity ≥ 0.5), most similar first; ties and
        searches without a name in raison sociale order. ``kind`` and ``status`` filter. No
        criterion lists the directory (public structures and the caller's own).
        ``identifier_type`` with ``identifier``: an exact look-up (normalised as at creation),
        the one structure registered so, private or not, on one page (how someone who knows
        the company's SIRET finds it to ask to join). ``page_size`` defaults to 20 and is
        capped at 100; ``page_token`` is only valid with the criteria it was issued for.
        Errors: INVALID_ARGUMENT SEARCH_TOO_SHORT, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID;
        for an exact look-up the identifier rule's reason (see CreateStructure) and
        SEARCH_CRITERIA_CONFLICT when a prefix or a name is given too.
        """
        viewer = caller_id()
        criteria = search_criteria(
            identifier_prefix=request.identifier_prefix,
            name=request.name,
            kind=enum_from_proto(StructureKind, request.kind),
            page_size=request.page_size,
            page_token=request.page_token,
            status=enum_from_proto(StructureStatus, request.status),
            identifier_type=enum_from_proto(IdentifierType, request.identifier_type),
            identifier=request.identifier,
        )
        results = await self._usecases.directory.search(viewer, criteria)
        return pb.SearchStructuresResponse(
            structures=[structure_to_proto(s) for s in results.structures],
            next_page_token=results.next_page_token,
        )
