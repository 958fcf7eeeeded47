"""The structures service as invoices needs it: directory look-ups and access checks.

Calls forward the caller's token and carry the channel's deadline. CheckAccess answers are
reused for ``cache_seconds`` per (user, structure, space, mode): one deposit or one page of
the portal asks the same question several times.

The look-ups of a recipient (:meth:`StructuresClient.structure`, :meth:`~StructuresClient.find`,
:meth:`~StructuresClient.recipient`) can also be made ``anonymous``: without any token, outside
an RPC (the flow worker, which deposits an archive's files long after DepositFlow answered).
structures answers those for public structures only — public directory data — and NOT_FOUND
for a private one, so an anonymous look-up finds public structures or nothing.

Given a ``directory`` (the read model, :mod:`chorus_invoices.usecases.directory`), look-ups
read it first and ask structures only on a miss, storing the answer. The answers are the same:
with the caller's token structures shows any structure by id or identifier, so an entry is
shown to any caller; an anonymous look-up gets a public entry or None, as from structures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal
from chorus_platform.errors import Unavailable

from chorus_invoices.domain.directory import DirectoryEntry
from chorus_invoices.domain.forms import RecipientRef
from chorus_invoices.domain.routing import Recipient, RecipientService

# Answers meaning "no such thing for you", as opposed to "structures is unwell".
_ABSENT = (
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
)
_CACHE_MAX_ENTRIES = 10_000


class StructuresUnavailable(Unavailable):
    """structures did not answer; the caller may retry."""

    def __init__(self) -> None:
        super().__init__(
            "STRUCTURES_UNAVAILABLE",
            "Le service des structures ne répond pas : réessayez dans un instant.",
        )


class LocalDirectory(Protocol):
    """The directory read model as the client uses it (see
    :class:`chorus_invoices.usecases.directory.Directory`)."""

    async def cached(self, structure_id: str) -> DirectoryEntry | None: ...

    async def cached_by_identifier(
        self, identifier_type: str, identifier: str
    ) -> DirectoryEntry | None: ...

    def remember(self, entry: DirectoryEntry, asked_at: datetime) -> None: ...


class StructuresClient:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        directory: LocalDirectory | None = None,
    ) -> None:
        self._stub = pb_grpc.StructuresServiceStub(channel)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._directory = directory
        self._access: dict[tuple[str, str, str, str], tuple[float, bool]] = {}

    async def may(self, user_id: str, structure_id: str, space: str, mode: str) -> bool:
        """May ``user_id`` act for ``structure_id`` in ``space`` (e.g. FACTURES_EMISES) with
        ``mode`` (CONSULTATION or MODIFICATION)?"""
        key = (user_id, structure_id, space, mode)
        now = self._clock()
        cached = self._access.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        request = pb.CheckAccessRequest(
            user_id=user_id,
            structure_id=structure_id,
            space=pb.Space.Value(f"SPACE_{space}"),
            mode=pb.AccessMode.Value(f"ACCESS_MODE_{mode}"),
        )
        response = await self._call(self._stub.CheckAccess, request)
        allowed = bool(response and response.allowed)
        if self._cache_seconds > 0:
            if len(self._access) >= _CACHE_MAX_ENTRIES:
                self._access = {k: v for k, v in self._access.items() if v[0] > now}
            self._access[key] = (now + self._cache_seconds, allowed)
        return allowed

    async def accessible_structures(self, user_id: str, space: str, mode: str) -> list[str]:
        """Ids of the structures ``user_id`` may act for in ``space`` with ``mode``."""
        return list(await self.accessible(user_id, space, mode))

    async def accessible(self, user_id: str, space: str, mode: str) -> dict[str, tuple[str, ...]]:
        """The structures ``user_id`` may act for in ``space`` with ``mode``, each with the
        codes of the services the user is limited to (empty: every service)."""
        request = pb.ListAccessibleStructuresRequest(
            user_id=user_id,
            space=pb.Space.Value(f"SPACE_{space}"),
            mode=pb.AccessMode.Value(f"ACCESS_MODE_{mode}"),
        )
        response = await self._call(self._stub.ListAccessibleStructures, request)
        if not response:
            return {}
        found: dict[str, tuple[str, ...]] = dict.fromkeys(response.structure_ids, ())
        for structure in response.structures:
            found[structure.structure_id] = tuple(structure.service_codes)
        return found

    async def structure(self, structure_id: str, *, anonymous: bool = False) -> Recipient | None:
        """The structure with this id, or None; ``anonymous``: asked without a token, a
        public structure or None."""
        if self._directory is not None:
            entry = await self._directory.cached(structure_id)
            if entry is not None:
                return _shown(entry, anonymous)
        request = pb.GetStructureRequest(structure_id=structure_id)
        asked_at = datetime.now(UTC)
        response = await self._call(self._stub.GetStructure, request, anonymous=anonymous)
        self._remember(response, asked_at)
        return _found(response, anonymous)

    async def recipient(self, ref: RecipientRef, *, anonymous: bool = False) -> Recipient | None:
        """The structure an invoice names as recipient, by id or by (identifier type,
        identifier); None when there is none (``anonymous``: no public one)."""
        if ref.structure_id:
            return await self.structure(ref.structure_id, anonymous=anonymous)
        return await self.find(ref.identifier_type, ref.identifier, anonymous=anonymous)

    async def find(
        self, identifier_type: str, identifier: str, *, anonymous: bool = False
    ) -> Recipient | None:
        """The structure registered as (``SIRET``, ``12345678901234``), or None;
        ``anonymous``: asked without a token, a public structure or None."""
        if self._directory is not None:
            entry = await self._directory.cached_by_identifier(identifier_type, identifier)
            if entry is not None:
                return _shown(entry, anonymous)
        request = pb.FindStructureByIdentifierRequest(
            identifier_type=pb.IdentifierType.Value(f"IDENTIFIER_TYPE_{identifier_type}"),
            identifier=identifier,
        )
        asked_at = datetime.now(UTC)
        response = await self._call(
            self._stub.FindStructureByIdentifier, request, anonymous=anonymous
        )
        self._remember(response, asked_at)
        return _found(response, anonymous)

    def _remember(self, response, asked_at: datetime) -> None:
        """Hands structures' answer to the read model (an anonymous answer lacks only the
        e-mail, which invoices does not use)."""
        if self._directory is not None and response:
            self._directory.remember(_directory_entry(response.structure), asked_at)

    async def _call(self, method, request, *, anonymous: bool = False):
        """``method`` with the RPC caller's token, or with no authorization metadata at all
        when ``anonymous`` (then no caller is needed)."""
        metadata = () if anonymous else current_principal().metadata()
        try:
            return await method(request, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            if err.code() in _ABSENT:
                return None
            raise StructuresUnavailable() from err


def _found(response, anonymous: bool) -> Recipient | None:
    """The structure of a look-up's answer; an anonymous look-up takes only a public one
    (structures answers nothing else to a call without a token; a copy that did would not
    be trusted with a private structure)."""
    if not response:
        return None
    found = _recipient(response.structure)
    if anonymous and not found.public:
        return None
    return found


def _shown(entry: DirectoryEntry, anonymous: bool) -> Recipient | None:
    """The read model's entry as structures would answer it: to an anonymous look-up, a
    public structure only."""
    if anonymous:
        if not entry.public:
            return None
    else:
        current_principal()  # a look-up with a token needs a caller, as structures does
    return _recipient(pb.Structure.FromString(entry.payload))


def _directory_entry(structure: pb.Structure) -> DirectoryEntry:
    """``structure`` as the read model keeps it."""
    return DirectoryEntry(
        structure_id=structure.id,
        identifier_type=_identifier_type(structure),
        identifier=structure.identifier,
        public=structure.kind == pb.STRUCTURE_KIND_PUBLIQUE,
        payload=structure.SerializeToString(),
    )


def _identifier_type(structure: pb.Structure) -> str:
    return pb.IdentifierType.Name(structure.identifier_type).removeprefix("IDENTIFIER_TYPE_")


def _recipient(structure: pb.Structure) -> Recipient:
    routing = structure.routing
    return Recipient(
        structure_id=structure.id,
        raison_sociale=structure.raison_sociale,
        public=structure.kind == pb.STRUCTURE_KIND_PUBLIQUE,
        active=structure.status == pb.STRUCTURE_STATUS_ACTIVE,
        service_code_required=routing.service_code_required,
        engagement_required=routing.engagement_required,
        service_or_engagement_required=routing.service_or_engagement_required,
        payment_status_not_reported=routing.payment_status_not_reported,
        services=tuple(
            RecipientService(
                s.code, s.active, s.engagement_required, s.reserved_for_public_suppliers
            )
            for s in structure.services
        ),
        identifier_type=_identifier_type(structure),
        identifier=structure.identifier,
        vat_number=structure.vat_number,
        address=(
            structure.address.line1,
            structure.address.line2,
            structure.address.postal_code,
            structure.address.city,
            structure.address.country,
        ),
    )
