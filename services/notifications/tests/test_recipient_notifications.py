"""Invoice notifications to structures' users: the members projection fed by structures'
events, the recipient structure told of a new invoice, the supplier's other managers told of
the recipient's status changes (integration, on the shared running service)."""

from __future__ import annotations

import uuid

from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.structures.events.v1 import structures_events_pb2 as structures_events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import messages
from chorus_notifications.rendering import render_email

from .conftest import PORTAL, wait_until
from .test_membership_notifications import registered


def test_new_invoice_email_is_in_french_and_links_the_invoice():
    email = render_email(
        messages.invoice_received_email(
            first_name="Nina", number="F-1", invoice_url=f"{PORTAL}/factures/1", locale="fr"
        )
    )
    assert email.kind == "INVOICE_RECEIVED"
    assert email.subject == "Nouvelle facture F-1 reçue"
    assert f"{PORTAL}/factures/1" in email.text_body
    assert f'href="{PORTAL}/factures/1"' in email.html_body


async def members_of(db, structure_id: str) -> dict[str, str]:
    rows = await db.fetch(
        "SELECT user_id, role FROM structure_members WHERE structure_id = $1", structure_id
    )
    return {str(r["user_id"]): r["role"] for r in rows}


async def test_members_projection_follows_structures_events(service, events, db):
    structure_id = str(uuid.uuid4())
    people = [await registered(events, name) for name in ("Anne", "Bruno", "Chloe")]
    for person in people:  # the membership messages need them known
        await wait_until(
            lambda p=person: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", p.user_id)
        )
    anne, bruno, chloe = (person.user_id for person in people)
    added = structures_events.MemberAdded(
        structure_id=structure_id, user_id=anne, role=structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL
    )
    steps = [
        added,
        structures_events.MemberAdded(
            structure_id=structure_id,
            user_id=bruno,
            role=structures_pb.ROLE_UTILISATEUR,
            service_ids=["s1"],
            service_codes=["ACHATS"],
        ),
        structures_events.MemberAdded(
            structure_id=structure_id, user_id=chloe, role=structures_pb.ROLE_UTILISATEUR
        ),
        structures_events.MemberServicesChanged(
            structure_id=structure_id,
            user_id=bruno,
            service_ids=["s1", "s2"],
            service_codes=["ACHATS", "VENTES"],
        ),
        structures_events.MemberRoleChanged(
            structure_id=structure_id,
            user_id=bruno,
            role=structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE,
        ),
        structures_events.PrincipalTransferred(
            structure_id=structure_id,
            previous_principal_user_id=anne,
            new_principal_user_id=bruno,
        ),
        structures_events.MemberDetached(structure_id=structure_id, user_id=chloe, left=True),
    ]
    for step in steps:
        await events.publish("structures", structure_id, step)
    # The same event delivered twice is applied once; it also marks the end of the sequence.
    first_id = str(uuid.uuid4())
    marker = structures_events.MemberAdded(
        structure_id=structure_id, user_id=str(uuid.uuid4()), role=structures_pb.ROLE_UTILISATEUR
    )
    for _ in range(2):
        await events.publish("structures", structure_id, marker, event_id=first_id)

    async def settled():
        members = await members_of(db, structure_id)
        return members if marker.user_id in members else None

    members = await wait_until(settled)
    assert members == {
        anne: "GESTIONNAIRE_SECONDAIRE",
        bruno: "GESTIONNAIRE_PRINCIPAL",
        marker.user_id: "UTILISATEUR",
    }
    services = await db.fetchrow(
        "SELECT service_ids, service_codes FROM structure_members"
        " WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        bruno,
    )
    # The role change (no services in it) kept the services and their codes.
    assert (services["service_ids"], services["service_codes"]) == (
        ["s1", "s2"],
        ["ACHATS", "VENTES"],
    )


async def test_recipient_members_and_supplier_managers_are_told(
    service, events, mail_catcher, db, signer
):
    depositor, colleague = await registered(events, "Dora"), await registered(events, "Colin")
    manager, clerk = await registered(events, "Maud"), await registered(events, "Remi")
    supplier_id, buyer_id, invoice_id = (str(uuid.uuid4()) for _ in range(3))
    memberships = [
        (supplier_id, depositor, structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL),
        (supplier_id, colleague, structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE),
        (buyer_id, manager, structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL),
        (buyer_id, clerk, structures_pb.ROLE_UTILISATEUR),
    ]
    for user in (depositor, colleague, manager, clerk):
        await wait_until(
            lambda u=user: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", u.user_id)
        )
    for structure_id, user, role in memberships:
        await events.publish(
            "structures",
            structure_id,
            structures_events.MemberAdded(
                structure_id=structure_id,
                user_id=user.user_id,
                role=role,
                attachment_request_id=str(uuid.uuid4()),  # no membership message of its own
            ),
        )
    await wait_until(lambda: _count_members(db, supplier_id, buyer_id, 4))
    common = {
        "invoice_id": invoice_id,
        "number": "F-REC-1",
        "supplier_structure_id": supplier_id,
        "recipient_structure_id": buyer_id,
        "depositor_user_id": depositor.user_id,
    }
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            **common,
            from_status=invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
            to_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            actor="system",
        ),
    )
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            **common,
            from_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            to_status=invoices_pb.INVOICE_STATUS_SUSPENDUE,
            actor=manager.user_id,
            comment="Bon de commande manquant",
        ),
    )

    for user in (manager, clerk):
        email = await mail_catcher.wait_for(
            lambda m, u=user: u.contact_email in m.envelope_to and "Nouvelle" in m.subject, 20
        )
        assert email.subject == "Nouvelle facture F-REC-1 reçue"
        assert f"{PORTAL}/factures/{invoice_id}" in email.text

    async def feed_of(user, count):
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user.user_id)
        )
        return response.items if len(response.items) >= count else None

    clerk_feed = await wait_until(lambda: feed_of(clerk, 1))
    assert [(i.kind, i.title, i.link) for i in clerk_feed] == [
        ("INVOICE_RECEIVED", "Nouvelle facture F-REC-1 reçue", f"/factures/{invoice_id}")
    ]
    colleague_feed = await wait_until(lambda: feed_of(colleague, 1))
    assert [i.kind for i in colleague_feed] == ["INVOICE_STATUS_CHANGED"]
    assert "Bon de commande manquant" in colleague_feed[0].body
    # The depositor: the usual two status items, no duplicate from the supplier rule.
    depositor_feed = await wait_until(lambda: feed_of(depositor, 2))
    assert len(depositor_feed) == 2
    # The supplier's colleague gets no e-mail, the buyer no status change of the supplier side.
    assert (
        await db.fetchval("SELECT count(*) FROM emails WHERE user_id = $1", colleague.user_id) == 0
    )
    manager_kinds = [i.kind for i in await feed_of(manager, 1)]
    assert manager_kinds == ["INVOICE_RECEIVED"]


async def _count_members(db, supplier_id: str, buyer_id: str, expected: int) -> bool:
    count = await db.fetchval(
        "SELECT count(*) FROM structure_members WHERE structure_id = ANY($1::uuid[])",
        [supplier_id, buyer_id],
    )
    return count == expected


async def test_members_limited_to_services_are_told_only_of_their_services(
    service, events, db, signer
):
    manager, fin, tech, legacy = [
        await registered(events, name) for name in ("Mila", "Fanny", "Theo", "Luc")
    ]
    for user in (manager, fin, tech, legacy):
        await wait_until(
            lambda u=user: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", u.user_id)
        )
    buyer_id = str(uuid.uuid4())
    limits = [
        (manager, structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL, [], []),
        (fin, structures_pb.ROLE_UTILISATEUR, ["id-fin"], ["SERV-FIN"]),
        (tech, structures_pb.ROLE_UTILISATEUR, ["id-tech"], ["SERV-TECH"]),
        # Projected before codes were carried: its codes are unknown.
        (legacy, structures_pb.ROLE_UTILISATEUR, ["id-old"], []),
    ]
    for user, role, service_ids, service_codes in limits:
        await events.publish(
            "structures",
            buyer_id,
            structures_events.MemberAdded(
                structure_id=buyer_id,
                user_id=user.user_id,
                role=role,
                attachment_request_id=str(uuid.uuid4()),
                service_ids=service_ids,
                service_codes=service_codes,
            ),
        )
    await wait_until(lambda: _count_members(db, buyer_id, buyer_id, 4))

    async def made_available(number: str, service_code: str) -> None:
        invoice_id = str(uuid.uuid4())
        await events.publish(
            "invoices",
            invoice_id,
            invoices_events.InvoiceStatusChanged(
                invoice_id=invoice_id,
                number=number,
                supplier_structure_id=str(uuid.uuid4()),
                recipient_structure_id=buyer_id,
                from_status=invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
                to_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
                actor="system",
                service_code=service_code,
            ),
        )

    async def numbers_told(user) -> list[str]:
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user.user_id)
        )
        return sorted(i.title.split()[2] for i in response.items)

    await made_available("F-FIN", "serv-fin")
    await made_available("F-AUCUN", "")

    async def manager_told_twice():
        return len(await numbers_told(manager)) == 2

    await wait_until(manager_told_twice)  # both events are fully handled then
    assert await numbers_told(manager) == ["F-AUCUN", "F-FIN"]
    assert await numbers_told(fin) == ["F-FIN"]
    assert await numbers_told(tech) == []
    assert await numbers_told(legacy) == []  # codes unknown: not told rather than told too much
    emails = await db.fetch(
        "SELECT user_id FROM emails WHERE user_id = ANY($1::uuid[])",
        [tech.user_id],
    )
    assert emails == []


async def test_the_recipient_is_told_when_the_supplier_completes_a_suspended_invoice(
    service, events, mail_catcher, db, signer
):
    processor, other_service = await registered(events, "Prune"), await registered(events, "Oscar")
    for user in (processor, other_service):
        await wait_until(
            lambda u=user: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", u.user_id)
        )
    buyer_id, invoice_id = str(uuid.uuid4()), str(uuid.uuid4())
    for user, codes in ((processor, []), (other_service, ["SERV-TECH"])):
        await events.publish(
            "structures",
            buyer_id,
            structures_events.MemberAdded(
                structure_id=buyer_id,
                user_id=user.user_id,
                role=structures_pb.ROLE_UTILISATEUR,
                attachment_request_id=str(uuid.uuid4()),
                service_ids=[f"id-{c}" for c in codes],
                service_codes=codes,
            ),
        )
    await wait_until(lambda: _count_members(db, buyer_id, buyer_id, 2))

    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            invoice_id=invoice_id,
            number="F-COMP-1",
            supplier_structure_id=str(uuid.uuid4()),
            recipient_structure_id=buyer_id,
            from_status=invoices_pb.INVOICE_STATUS_SUSPENDUE,
            to_status=invoices_pb.INVOICE_STATUS_COMPLETEE,
            actor=str(uuid.uuid4()),
            comment="Bon de commande joint",
            service_code="SERV-FIN",
        ),
    )

    email = await mail_catcher.wait_for(
        lambda m: processor.contact_email in m.envelope_to and "complétée" in m.subject, 20
    )
    assert email.subject == "Facture F-COMP-1 complétée par le fournisseur"
    assert "Bon de commande joint" in email.text
    assert f"{PORTAL}/factures/{invoice_id}" in email.text
    feed = await service.stub.ListFeed(
        pb.ListFeedRequest(), metadata=signer.metadata(processor.user_id)
    )
    assert [(i.kind, i.link) for i in feed.items] == [
        ("INVOICE_COMPLETED", f"/factures/{invoice_id}")
    ]
    # The member limited to another service is not told (both handled in one transaction).
    other = await service.stub.ListFeed(
        pb.ListFeedRequest(), metadata=signer.metadata(other_service.user_id)
    )
    assert list(other.items) == []
