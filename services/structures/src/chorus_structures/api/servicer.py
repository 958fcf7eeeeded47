"""gRPC handlers of ``chorus.structures.v1.StructuresService``.

Every RPC requires an authenticated caller (the AuthInterceptor rejects the others with
UNAUTHENTICATED). Domain and store code raise :mod:`chorus_platform.errors`; the platform's
ErrorInterceptor turns them into statuses with ErrorInfo reasons and field violations.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform.errors import (
    AlreadyExists,
    FieldViolation,
    NotFound,
    PermissionDenied,
)

from chorus_structures.api.attachments import AttachmentHandlers
from chorus_structures.api.management import ManagementHandlers
from chorus_structures.api.mapping import (
    draft_from_proto,
    enum_from_proto,
    enum_to_proto,
    service_to_proto,
    structure_to_proto,
    uuid_from_request,
)
from chorus_structures.api.members import MemberHandlers
from chorus_structures.api.request_fields import caller_id, required_mode, required_space
from chorus_structures.api.spaces import SpaceHandlers
from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.config import StructuresSettings
from chorus_structures.domain.access import decide, space_accesses, visible_services
from chorus_structures.domain.identifiers import IdentifierType, validate_identifier
from chorus_structures.domain.search import encode_page_token, search_criteria
from chorus_structures.domain.spaces import openness
from chorus_structures.domain.structure import (
    StructureKind,
    StructureStatus,
    validate_new_structure,
)
from chorus_structures.registration import register_structure
from chorus_structures.store import access, memberships, spaces, structures

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["StructuresService"].full_name


def _structure_not_found() -> NotFound:
    return NotFound("STRUCTURE_NOT_FOUND", "Aucune structure ne correspond à cette demande.")


def _checked_subject(requested_user_id: str, caller: UUID) -> UUID:
    """Access questions are about the caller only: empty means the caller, anyone else is denied."""
    if not requested_user_id:
        return caller
    user_id = uuid_from_request(requested_user_id, "user_id", "USER_ID_INVALID")
    if user_id != caller:
        raise PermissionDenied(
            "ACCESS_CHECK_OTHER_USER",
            "Vous ne pouvez vérifier que vos propres droits d'accès.",
        )
    return user_id


class StructuresServicer(
    ManagementHandlers,
    MemberHandlers,
    AttachmentHandlers,
    SpaceHandlers,
    pb_grpc.StructuresServiceServicer,
):
    """Every RPC of the service: the directory and access checks here, the rest in the
    handler groups (management, members, attachments, spaces)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: StructuresSettings,
        identity: IdentityDirectory | None = None,
    ) -> None:
        super().__init__(pool, settings, identity or IdentityDirectory(None))

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
        caller = caller_id()
        new = validate_new_structure(
            draft_from_proto(request), allow_public=self._settings.allow_public_creation
        )
        async with self._pool.acquire() as conn, conn.transaction():
            structure = await register_structure(conn, new, created_by=caller)
            if structure is None:
                raise AlreadyExists(
                    "STRUCTURE_ALREADY_EXISTS",
                    "Une structure est déjà enregistrée avec cet identifiant : demandez plutôt "
                    "à y être rattaché.",
                    [FieldViolation("identifier", "Identifiant déjà enregistré.")],
                )
        return pb.CreateStructureResponse(structure=structure_to_proto(structure))

    async def GetStructure(self, request, context):
        """One structure with its services and routing parameters; any caller may read it.

        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID (not a UUID); NOT_FOUND STRUCTURE_NOT_FOUND.
        """
        caller_id()
        structure_id = uuid_from_request(
            request.structure_id, "structure_id", "STRUCTURE_ID_INVALID"
        )
        async with self._pool.acquire() as conn:
            structure = await structures.get_structure(conn, structure_id)
        if structure is None:
            raise _structure_not_found()
        return pb.GetStructureResponse(structure=structure_to_proto(structure))

    async def FindStructureByIdentifier(self, request, context):
        """The structure registered under (identifier type, identifier).

        The identifier is normalised as at creation (a SIRET typed with spaces is found).
        Errors: INVALID_ARGUMENT with the identifier rule's reason (see CreateStructure);
        NOT_FOUND STRUCTURE_NOT_FOUND.
        """
        caller_id()
        identifier = validate_identifier(
            enum_from_proto(IdentifierType, request.identifier_type), request.identifier
        )
        async with self._pool.acquire() as conn:
            structure_id = await structures.find_id_by_identifier(conn, identifier)
            structure = await structures.get_structure(conn, structure_id) if structure_id else None
        if structure is None:
            raise _structure_not_found()
        return pb.FindStructureByIdentifierResponse(structure=structure_to_proto(structure))

    async def SearchStructures(self, request, context):
        """Searches the whole directory, keyset-paginated.

        ``identifier_prefix`` (spaces ignored, at least 3 characters) matches the start of the
        identifier. ``name`` is matched against the raison sociale and libellé, case and
        accents ignored: structures holding every word come first, then names similar enough
        to tolerate typos (pg_trgm word similarity ≥ 0.5), most similar first; ties and
        searches without a name in raison sociale order. ``kind`` and ``status`` filter. No
        criterion lists the directory. ``page_size``
        defaults to 20 and is capped at 100; ``page_token`` is only valid with the criteria it
        was issued for. Errors: INVALID_ARGUMENT SEARCH_TOO_SHORT, PAGE_SIZE_INVALID,
        PAGE_TOKEN_INVALID.
        """
        caller_id()
        criteria = search_criteria(
            identifier_prefix=request.identifier_prefix,
            name=request.name,
            kind=enum_from_proto(StructureKind, request.kind),
            page_size=request.page_size,
            page_token=request.page_token,
            status=enum_from_proto(StructureStatus, request.status),
        )
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            found, cursor = await structures.search_structures(conn, criteria)
        return pb.SearchStructuresResponse(
            structures=[structure_to_proto(s) for s in found],
            next_page_token=encode_page_token(criteria, cursor) if cursor else "",
        )

    async def ListMyMemberships(self, request, context):
        """The caller's memberships, in raison sociale order: structure, role, services (every
        service for managers and for users attached to the whole structure) and the open
        spaces the caller may use with their mode (MODIFICATION everywhere for managers; the
        validated subscription's mode for simple users). No errors beyond UNAUTHENTICATED.
        """
        caller = caller_id()
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            rows = await memberships.memberships_of_user(conn, caller)
            ids = [row.structure_id for row in rows]
            by_id = {s.id: s for s in await structures.get_structures(conn, ids)}
            recorded = await spaces.explicit_states(conn, ids)
        response = pb.ListMyMembershipsResponse()
        for row in rows:
            structure = by_id[row.structure_id]
            states = openness(structure.kind, recorded.get(row.structure_id, {}))
            open_spaces = [space for space, is_open in states.items() if is_open]
            accesses = space_accesses(row.role, structure.status, open_spaces, row.subscriptions)
            response.memberships.append(
                pb.Membership(
                    structure=structure_to_proto(structure),
                    role=enum_to_proto(row.role),
                    services=[
                        service_to_proto(s)
                        for s in visible_services(row.role, structure.services, row.service_ids)
                    ],
                    spaces=[
                        pb.SpaceAccess(space=enum_to_proto(space), mode=enum_to_proto(mode))
                        for space, mode in accesses
                    ],
                )
            )
        return response

    async def CheckAccess(self, request, context):
        """May the user act for the structure in the space with the mode (for the service)?

        A caller may only ask about themself: ``user_id`` empty means the caller, another user
        is PERMISSION_DENIED ACCESS_CHECK_OTHER_USER (services ask on behalf of the user whose
        token they forward). Answers ``allowed`` or a reason: NOT_A_MEMBER (also for an unknown
        structure), STRUCTURE_INACTIVE, SPACE_CLOSED, SERVICE_NOT_FOUND (not a service of the
        structure), SERVICE_NOT_ALLOWED (a user attached to other services),
        SUBSCRIPTION_REQUIRED (a simple user without a validated subscription of a sufficient
        mode; MODIFICATION implies CONSULTATION). Managers may use every open space in any mode.
        Errors: INVALID_ARGUMENT USER_ID_INVALID, STRUCTURE_ID_INVALID, SERVICE_ID_INVALID,
        SPACE_REQUIRED, ACCESS_MODE_REQUIRED.
        """
        user_id = _checked_subject(request.user_id, caller_id())
        structure_id = uuid_from_request(
            request.structure_id, "structure_id", "STRUCTURE_ID_INVALID"
        )
        service_id = (
            uuid_from_request(request.service_id, "service_id", "SERVICE_ID_INVALID")
            if request.service_id
            else None
        )
        space, mode = required_space(request.space), required_mode(request.mode)
        async with self._pool.acquire() as conn:
            facts = await access.access_facts(
                conn, user_id, space, structure_id=structure_id, service_id=service_id
            )
        decision = decide(facts.get(structure_id), mode)
        return pb.CheckAccessResponse(allowed=decision.allowed, reason=decision.reason)

    async def ListAccessibleStructures(self, request, context):
        """Ids of the structures for which CheckAccess would allow the user in the space with
        the mode, in no particular order; ``structures`` lists the same ones, each with the
        services a simple user attached to some services only is limited to (empty: every
        service), which is what the received invoices they may see are limited to. Same caller
        rule and errors as CheckAccess (ACCESS_CHECK_OTHER_USER, USER_ID_INVALID,
        SPACE_REQUIRED, ACCESS_MODE_REQUIRED).
        """
        user_id = _checked_subject(request.user_id, caller_id())
        space, mode = required_space(request.space), required_mode(request.mode)
        async with self._pool.acquire() as conn:
            facts = await access.access_facts(conn, user_id, space)
        allowed = {
            structure_id: fact for structure_id, fact in facts.items() if decide(fact, mode).allowed
        }
        return pb.ListAccessibleStructuresResponse(
            structure_ids=[str(structure_id) for structure_id in allowed],
            structures=[
                pb.AccessibleStructure(
                    structure_id=str(structure_id),
                    service_ids=sorted(str(s) for s in fact.limited_to_services),
                    service_codes=sorted(fact.limited_to_service_codes),
                )
                for structure_id, fact in allowed.items()
            ],
        )
