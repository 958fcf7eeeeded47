"""Consumer of structures' events: structure names, the structure members projection, and
the membership, space subscription and sollicitation notices.

Decodes each event (roles, spaces and access modes as codes such as ``UTILISATEUR``) and
calls the use cases with the consumer's transaction. A membership event is projected first,
then its notice is worked out, in that one transaction.
"""

from __future__ import annotations

from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription
from chorus_platform.unit_of_work import Transaction
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from chorus_notifications.usecases.membership_notices import MembershipNotices
from chorus_notifications.usecases.sollicitation_notices import SollicitationNotices
from chorus_notifications.usecases.structure_members import StructureMembersProjection
from chorus_notifications.usecases.structure_names import StructureNames
from chorus_notifications.usecases.subscription_notices import SubscriptionNotices

SOURCE = "structures"


def _code(enum: EnumTypeWrapper, prefix: str, value: int) -> str:
    try:
        return enum.Name(value).removeprefix(prefix)
    except ValueError:  # a value added to the contract after this build
        return str(value)


def role_code(value: int) -> str:
    """``ROLE_UTILISATEUR`` (3) → ``"UTILISATEUR"``."""
    return _code(structures_pb.Role, "ROLE_", value)


def space_code(value: int) -> str:
    """``SPACE_FACTURES_RECUES`` → ``"FACTURES_RECUES"``."""
    return _code(structures_pb.Space, "SPACE_", value)


def mode_code(value: int) -> str:
    """``ACCESS_MODE_CONSULTATION`` → ``"CONSULTATION"``."""
    return _code(structures_pb.AccessMode, "ACCESS_MODE_", value)


class StructureEvents:
    def __init__(
        self,
        names: StructureNames,
        members: StructureMembersProjection,
        memberships: MembershipNotices,
        subscriptions: SubscriptionNotices,
        sollicitations: SollicitationNotices | None = None,
    ) -> None:
        self._names = names
        self._members = members
        self._memberships = memberships
        self._subscriptions = subscriptions
        self._sollicitations = sollicitations

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription(events.StructureCreated, self.on_structure_named),
            Subscription(events.StructureUpdated, self.on_structure_named),
            Subscription(events.MemberAdded, self.on_member_added),
            Subscription(events.AttachmentRequested, self.on_attachment_requested),
            Subscription(events.AttachmentDecided, self.on_attachment_decided),
            Subscription(events.MemberRoleChanged, self.on_member_role_changed),
            Subscription(events.PrincipalTransferred, self.on_principal_transferred),
            Subscription(events.MemberDetached, self.on_member_detached),
            Subscription(events.MemberServicesChanged, self.on_member_services_changed),
            Subscription(events.SubscriptionRequested, self.on_subscription_requested),
            Subscription(events.SubscriptionDecided, self.on_subscription_decided),
            *(
                [
                    Subscription(events.SollicitationCreated, self.on_sollicitation_created),
                    Subscription(events.SollicitationReplied, self.on_sollicitation_replied),
                    Subscription(events.SollicitationClosed, self.on_sollicitation_closed),
                ]
                if self._sollicitations is not None
                else []
            ),
        ]

    async def on_structure_named(
        self,
        tx: Transaction,
        event: events.StructureCreated | events.StructureUpdated,
        envelope: Envelope,
    ) -> None:
        structure = event.structure
        await self._names.remember(
            tx,
            structure_id=structure.id,
            raison_sociale=structure.raison_sociale,
            libelle=structure.libelle,
            identifier=structure.identifier,
        )

    async def on_member_added(
        self, tx: Transaction, event: events.MemberAdded, envelope: Envelope
    ) -> None:
        await self._members.member_added(
            tx,
            structure_id=event.structure_id,
            user_id=event.user_id,
            role=role_code(event.role),
            service_ids=event.service_ids,
            service_codes=event.service_codes,
        )
        await self._memberships.member_added(
            tx,
            event_id=envelope.id,
            structure_id=event.structure_id,
            structure_name=event.structure_name,
            user_id=event.user_id,
            role=role_code(event.role),
            added_by=event.added_by,
            attachment_request_id=event.attachment_request_id,
        )

    async def on_attachment_requested(
        self, tx: Transaction, event: events.AttachmentRequested, envelope: Envelope
    ) -> None:
        request = event.request
        await self._memberships.attachment_requested(
            tx,
            event_id=envelope.id,
            structure_id=request.structure_id,
            structure_name=event.structure_name,
            requester_id=request.requester.user_id,
            comment=request.comment,
            manager_ids=event.manager_user_ids,
        )

    async def on_attachment_decided(
        self, tx: Transaction, event: events.AttachmentDecided, envelope: Envelope
    ) -> None:
        await self._memberships.attachment_decided(
            tx,
            event_id=envelope.id,
            structure_id=event.request.structure_id,
            structure_name=event.structure_name,
            requester_id=event.requester_user_id,
            accepted=event.decision == structures_pb.DECISION_VALIDEE,
            role=role_code(event.role) if event.role else "",
            comment=event.comment,
        )

    async def on_member_role_changed(
        self, tx: Transaction, event: events.MemberRoleChanged, envelope: Envelope
    ) -> None:
        await self._members.role_changed(
            tx, structure_id=event.structure_id, user_id=event.user_id, role=role_code(event.role)
        )
        await self._memberships.role_changed(
            tx,
            event_id=envelope.id,
            structure_id=event.structure_id,
            structure_name=event.structure_name,
            user_id=event.user_id,
            previous_role=role_code(event.previous_role),
            role=role_code(event.role),
        )

    async def on_principal_transferred(
        self, tx: Transaction, event: events.PrincipalTransferred, envelope: Envelope
    ) -> None:
        await self._members.principal_transferred(
            tx,
            structure_id=event.structure_id,
            new_principal_id=event.new_principal_user_id,
            previous_principal_id=event.previous_principal_user_id,
        )
        await self._memberships.principal_transferred(
            tx,
            event_id=envelope.id,
            structure_id=event.structure_id,
            structure_name=event.structure_name,
            new_principal_id=event.new_principal_user_id,
            previous_principal_id=event.previous_principal_user_id,
        )

    async def on_member_detached(
        self, tx: Transaction, event: events.MemberDetached, envelope: Envelope
    ) -> None:
        await self._members.member_detached(
            tx, structure_id=event.structure_id, user_id=event.user_id
        )
        await self._memberships.member_detached(
            tx,
            event_id=envelope.id,
            structure_name=event.structure_name,
            user_id=event.user_id,
            left=event.left,
        )

    async def on_member_services_changed(
        self, tx: Transaction, event: events.MemberServicesChanged, envelope: Envelope
    ) -> None:
        await self._members.services_changed(
            tx,
            structure_id=event.structure_id,
            user_id=event.user_id,
            service_ids=event.service_ids,
            service_codes=event.service_codes,
        )

    async def on_subscription_requested(
        self, tx: Transaction, event: events.SubscriptionRequested, envelope: Envelope
    ) -> None:
        subscription = event.subscription
        await self._subscriptions.requested(
            tx,
            event_id=envelope.id,
            structure_id=subscription.structure_id,
            structure_name=event.structure_name,
            user_id=subscription.user.user_id,
            space=space_code(subscription.space),
            mode=mode_code(subscription.mode),
            manager_ids=event.manager_user_ids,
        )

    async def on_subscription_decided(
        self, tx: Transaction, event: events.SubscriptionDecided, envelope: Envelope
    ) -> None:
        subscription = event.subscription
        await self._subscriptions.decided(
            tx,
            event_id=envelope.id,
            structure_id=subscription.structure_id,
            structure_name=event.structure_name,
            user_id=subscription.user.user_id,
            space=space_code(subscription.space),
            mode=mode_code(subscription.mode),
            accepted=subscription.status == structures_pb.SUBSCRIPTION_STATUS_VALIDEE,
            comment=subscription.decision_comment,
            decided_by_manager=bool(subscription.decided_by),
        )

    async def on_sollicitation_created(
        self, tx: Transaction, event: events.SollicitationCreated, envelope: Envelope
    ) -> None:
        assert self._sollicitations is not None
        sollicitation = event.sollicitation
        await self._sollicitations.created(
            tx,
            event_id=envelope.id,
            sollicitation_id=sollicitation.id,
            sender_id=sollicitation.sender.user_id,
            sender_structure_name=sollicitation.sender_structure_name,
            addressee_structure_name=sollicitation.addressee_structure_name,
            subject=sollicitation.subject,
            invoice_number=sollicitation.invoice_number,
            structure_name=sollicitation.structure_name,
            addressee_ids=event.addressee_user_ids,
        )

    async def on_sollicitation_replied(
        self, tx: Transaction, event: events.SollicitationReplied, envelope: Envelope
    ) -> None:
        assert self._sollicitations is not None
        sollicitation = event.sollicitation
        await self._sollicitations.replied(
            tx,
            event_id=envelope.id,
            sollicitation_id=sollicitation.id,
            author_id=event.author_user_id,
            subject=sollicitation.subject,
            invoice_number=sollicitation.invoice_number,
            structure_name=sollicitation.structure_name,
            recipient_ids=event.recipient_user_ids,
        )

    async def on_sollicitation_closed(
        self, tx: Transaction, event: events.SollicitationClosed, envelope: Envelope
    ) -> None:
        assert self._sollicitations is not None
        await self._sollicitations.closed(
            tx,
            event_id=envelope.id,
            sollicitation_id=event.sollicitation.id,
            closed_by=event.closed_by,
            subject=event.sollicitation.subject,
            recipient_ids=event.recipient_user_ids,
        )
