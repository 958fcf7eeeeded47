"""Handlers for the directory: creating a structure, reading one, searching."""

from __future__ import annotations

from dataclasses import replace

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import draft_from_proto, reference_from_request
from chorus_structures.api.request_fields import caller_id, current_caller, optional_caller
from chorus_structures.contract import enum_from_proto, service_to_proto, structure_to_proto
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.paging import numbered_page
from chorus_structures.domain.search import search_criteria
from chorus_structures.domain.structure import (
    Reference,
    StructureKind,
    StructureStatus,
)


def _structure_reference(structure_id: str, cpp_id: int, cpp_field: str) -> Reference:
    reference = reference_from_request(
        structure_id,
        cpp_id,
        id_field="structure_id",
        cpp_field=cpp_field,
        id_reason="STRUCTURE_ID_INVALID",
        conflict_reason="STRUCTURE_REFERENCE_CONFLICT",
    )
    assert reference is not None
    return reference


class DirectoryHandlers(Handlers):
    async def CreateStructure(self, request, context):
        """Creates a structure; the caller becomes its GESTIONNAIRE_PRINCIPAL.

        The kind defaults to PRIVEE; the structure starts ACTIVE with its default open spaces.
        StructureCreated and MemberAdded are written in the same transaction.
        Errors: INVALID_ARGUMENT with the identifier's reason (IDENTIFIER_TYPE_REQUIRED,
        IDENTIFIER_REQUIRED, SIRET_FORMAT_INVALID, SIRET_CHECKSUM_INVALID, EU_VAT_INVALID,
        EU_VAT_FRENCH_NUMBER, IDENTIFIER_FORMAT_INVALID, RIDET_FORMAT_INVALID,
        TAHITI_FORMAT_INVALID, IDENTIFIER_TOO_LONG, IDENTIFIER_SIRENE_SHAPED: a SIRET or
        SIREN under AUTRE or PARTICULIER) or of the first other bad field
        (RAISON_SOCIALE_REQUIRED, RAISON_SOCIALE_TOO_LONG, LIBELLE_TOO_LONG, ADDRESS_INCOMPLETE,
        ADDRESS_FIELD_TOO_LONG, COUNTRY_INVALID, POSTAL_CODE_INVALID, EMAIL_INVALID,
        VAT_NUMBER_INVALID, PUBLIC_STRUCTURE_REQUIRES_SIRET), every bad field listed as a
        violation; PERMISSION_DENIED PUBLIC_CREATION_DISABLED for PUBLIQUE when
        ``allow_public_creation`` is off; ALREADY_EXISTS STRUCTURE_ALREADY_EXISTS.
        """
        structure = await self._usecases.registration.create(caller_id(), draft_from_proto(request))
        return pb.CreateStructureResponse(structure=structure_to_proto(structure))

    async def GetStructure(self, request, context):
        """One structure with its services and routing parameters, by ``structure_id`` or by
        ``cpp_id`` (exactly one). Any caller who has its id may read it (ids are random: they
        reach a user through a membership, an invoice or an exact identifier look-up; the
        search lists no private structure of others). Integer ids can be guessed: by
        ``cpp_id`` a private structure is found only by its members and its technical
        accounts, NOT_FOUND for anyone else.

        Callable without a token (public directory data, read by invoices' flow worker): a
        PUBLIQUE structure only, without its e-mail; a private one is NOT_FOUND, exactly as
        an unknown one. A token that is sent must be valid.

        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID (not a UUID, or neither id given),
        CPP_ID_INVALID (negative), STRUCTURE_REFERENCE_CONFLICT (both given); NOT_FOUND
        STRUCTURE_NOT_FOUND; UNAUTHENTICATED TOKEN_INVALID (a token sent that does not
        verify).
        """
        caller = optional_caller(context)
        reference = _structure_reference(request.structure_id, request.cpp_id, "cpp_id")
        structure = await self._usecases.directory.get_by_reference(caller, reference)
        return pb.GetStructureResponse(structure=structure_to_proto(structure))

    async def ListServices(self, request, context):
        """A page of a structure's services, by code, and how many there are: the structure by
        ``structure_id`` or ``structure_cpp_id`` (exactly one; by integer id, a private
        structure only for its members and technical accounts); ``page_number`` 1-based (0:
        the first), ``page_size`` required, 1 to 1000; ``only_active``. A page past the end is
        empty, with the total. Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID, CPP_ID_INVALID,
        STRUCTURE_REFERENCE_CONFLICT, PAGE_NUMBER_INVALID, PAGE_SIZE_INVALID; NOT_FOUND
        STRUCTURE_NOT_FOUND.
        """
        caller = current_caller()
        reference = _structure_reference(
            request.structure_id, request.structure_cpp_id, "structure_cpp_id"
        )
        page = numbered_page(request.page_number, request.page_size)
        found = await self._usecases.directory.list_services(
            caller, reference, page, only_active=request.only_active
        )
        return pb.ListServicesResponse(
            services=[service_to_proto(s) for s in found.services],
            total_size=found.total,
            structure=structure_to_proto(replace(found.structure, services=())),
        )

    async def GetService(self, request, context):
        """One service with its structure: the service by ``service_id`` or ``cpp_id``
        (exactly one); optionally the structure it must belong to, by ``structure_id`` or
        ``structure_cpp_id`` (at most one). When an integer id names it, a service of a
        private structure is found only by the structure's members and technical accounts.
        Errors: INVALID_ARGUMENT SERVICE_ID_INVALID, STRUCTURE_ID_INVALID, CPP_ID_INVALID,
        SERVICE_REFERENCE_CONFLICT, STRUCTURE_REFERENCE_CONFLICT; NOT_FOUND SERVICE_NOT_FOUND
        (also a service of another structure than the one named).
        """
        caller = current_caller()
        service = reference_from_request(
            request.service_id,
            request.cpp_id,
            id_field="service_id",
            cpp_field="cpp_id",
            id_reason="SERVICE_ID_INVALID",
            conflict_reason="SERVICE_REFERENCE_CONFLICT",
        )
        structure = reference_from_request(
            request.structure_id,
            request.structure_cpp_id,
            id_field="structure_id",
            cpp_field="structure_cpp_id",
            id_reason="STRUCTURE_ID_INVALID",
            conflict_reason="STRUCTURE_REFERENCE_CONFLICT",
            required=False,
        )
        assert service is not None
        found, owner = await self._usecases.directory.get_service(caller, service, structure)
        return pb.GetServiceResponse(
            service=service_to_proto(found),
            structure=structure_to_proto(replace(owner, services=())),
        )

    async def FindStructureByIdentifier(self, request, context):
        """The structure registered under (identifier type, identifier).

        The identifier is normalised as at creation (a SIRET typed with spaces is found).
        Callable without a token, like GetStructure: a PUBLIQUE structure only (NOT_FOUND for
        a private one, as for an unknown one), without its e-mail.
        Errors: INVALID_ARGUMENT with the identifier rule's reason (see CreateStructure);
        NOT_FOUND STRUCTURE_NOT_FOUND; UNAUTHENTICATED TOKEN_INVALID (a token sent that does
        not verify).
        """
        caller = optional_caller(context)
        structure = await self._usecases.directory.find_by_identifier(
            caller, enum_from_proto(IdentifierType, request.identifier_type), request.identifier
        )
        return pb.FindStructureByIdentifierResponse(structure=structure_to_proto(structure))

    async def SearchStructures(self, request, context):
        """Searches the directory, by keyset pages or page numbers: public structures and the
        caller's own (any kind; a technical account's own is its structure); a private
        structure of others only by an exact look-up.

        ``identifier_prefix`` (spaces ignored, at least 3 characters) matches the start of the
        identifier. ``name`` is matched against the raison sociale and libellé, case and
        accents ignored: structures holding every word come first, then names similar enough
        to tolerate typos (pg_trgm word similarity ≥ 0.5), most similar first; ties and
        searches without a name in raison sociale order. ``kind``, ``status``,
        ``postal_code`` (exact), ``city`` (exact, case and accents ignored) and ``country``
        (ISO code) filter. No criterion lists the directory (public structures and the
        caller's own).
        ``identifier_type`` with ``identifier``: an exact look-up (normalised as at creation),
        the one structure registered so, private or not, on one page (how someone who knows
        the company's SIRET finds it to ask to join). ``page_size`` defaults to 20 and is
        capped at 100; ``page_token`` is only valid with the criteria it was issued for.
        With ``page_number`` (≥ 1; the Chorus Pro-compatible API): page ``page_number`` of
        ``page_size`` (required, 1 to 1000) with ``total_size``; every criterion combines
        with the others (an exact identifier with a name or an address...),
        ``identifier_type`` alone filters by type and ``identifier`` alone is an exact
        look-up across types. Errors: INVALID_ARGUMENT SEARCH_TOO_SHORT, PAGE_SIZE_INVALID,
        PAGE_TOKEN_INVALID, PAGE_NUMBER_INVALID, PAGING_CONFLICT (a token with a page
        number), POSTAL_CODE_INVALID, ADDRESS_FIELD_TOO_LONG, COUNTRY_INVALID; for an exact
        look-up the identifier rule's reason (see CreateStructure) and, with keyset pages,
        SEARCH_CRITERIA_CONFLICT when a prefix or a name is given too. Each result carries
        its identifier type and ``has_principal_manager``, so that a look-alike (same name and
        digits under another type, nobody managing it) can be told apart.
        """
        viewer = current_caller()
        criteria = search_criteria(
            identifier_prefix=request.identifier_prefix,
            name=request.name,
            kind=enum_from_proto(StructureKind, request.kind),
            page_size=request.page_size,
            page_token=request.page_token,
            status=enum_from_proto(StructureStatus, request.status),
            identifier_type=enum_from_proto(IdentifierType, request.identifier_type),
            identifier=request.identifier,
            postal_code=request.postal_code,
            city=request.city,
            country=request.country,
            page_number=request.page_number,
        )
        results = await self._usecases.directory.search(viewer, criteria)
        return pb.SearchStructuresResponse(
            structures=[_search_result(s, results.managed) for s in results.structures],
            next_page_token=results.next_page_token,
            total_size=results.total,
        )


def _search_result(structure, managed) -> pb.Structure:
    message = structure_to_proto(structure)
    message.has_principal_manager = structure.id in managed
    return message
