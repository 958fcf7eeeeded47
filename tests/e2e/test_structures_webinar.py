"""The structures webinar, end to end through the REST API with real services.

Manuela creates her account and "Les Délices de Savoie"; Pierre creates his and asks to be
attached; Manuela accepts him as secondary manager, then hands him the principal role; she
opens the "Engagements" space. Each step shows in both users' views and in the manager
history, and each of them gets the right e-mails. Then the failure paths the issue lists.
"""

from __future__ import annotations

import pytest
from e2e_support import activated_user, random_siret

pytestmark = pytest.mark.asyncio(loop_scope="session")

STRUCTURE = "Les Délices de Savoie"
ADDRESS = {"line1": "12 rue du Lac", "postal_code": "74000", "city": "Annecy", "country": "FR"}


def structure_body(identifier: str, identifier_type: str = "SIRET", name: str = STRUCTURE):
    return {
        "identifier_type": identifier_type,
        "identifier": identifier,
        "raison_sociale": name,
        "address": ADDRESS,
    }


async def my_role(api, auth, structure_id) -> str | None:
    response = await api.get("/me/structures", headers=auth)
    assert response.status_code == 200, response.text
    roles = {m["structure"]["id"]: m["role"] for m in response.json()["items"]}
    return roles.get(structure_id)


async def member_roles(api, auth, structure_id) -> dict[str, str]:
    response = await api.get(f"/structures/{structure_id}/members", headers=auth)
    assert response.status_code == 200, response.text
    return {m["user_id"]: m["role"] for m in response.json()["items"]}


async def history_kinds(api, auth, structure_id) -> list[str]:
    response = await api.get(f"/structures/{structure_id}/history", headers=auth)
    assert response.status_code == 200, response.text
    return [action["kind"] for action in response.json()["items"]]


def problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text


async def test_webinar_manuela_pierre_and_les_delices_de_savoie(stack, api, mailbox):
    manuela_id, manuela_email, as_manuela = await activated_user(api, mailbox, "Manuela")
    pierre_id, pierre_email, as_pierre = await activated_user(api, mailbox, "Pierre", "Martin")

    # Manuela creates the structure and becomes its principal manager.
    siret = random_siret()
    created = await api.post("/structures", json=structure_body(siret), headers=as_manuela)
    assert created.status_code == 201, created.text
    structure_id = created.json()["id"]
    assert await my_role(api, as_manuela, structure_id) == "GESTIONNAIRE_PRINCIPAL"
    assert await my_role(api, as_pierre, structure_id) is None

    # Pierre finds it by its exact SIRET (a private structure is found by nothing less) and
    # asks to be attached.
    by_prefix = await api.get("/structures", params={"identifier": siret[:9]}, headers=as_pierre)
    assert by_prefix.status_code == 200 and by_prefix.json()["items"] == []
    found = await api.get(
        "/structures", params={"identifier_type": "SIRET", "identifier": siret}, headers=as_pierre
    )
    assert [s["id"] for s in found.json()["items"]] == [structure_id]
    # Typos are tolerated in names (here with the identifier, as several tests use the name):
    # its manager finds it so.
    typo = await api.get(
        "/structures",
        params={"identifier": siret[:9], "name": "délises de savoi", "kind": "PRIVEE"},
        headers=as_manuela,
    )
    assert [s["id"] for s in typo.json()["items"]] == [structure_id]
    asked = await api.post(
        f"/structures/{structure_id}/attachment-requests",
        json={"comment": "Je tiens la comptabilité."},
        headers=as_pierre,
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    assert asked.json()["status"] == "EN_COURS_DE_VALIDATION"
    mine = await api.get("/me/attachment-requests", headers=as_pierre)
    assert [(r["id"], r["status"]) for r in mine.json()["items"]] == [
        (request_id, "EN_COURS_DE_VALIDATION")
    ]

    # Manuela is told, and sees the pending request with Pierre's name.
    request_mail = await mailbox.wait_for(manuela_email, "Demande de rattachement")
    assert "Pierre Martin" in request_mail["Text"]
    assert "Je tiens la comptabilité." in request_mail["Text"]
    pending = await api.get(
        f"/structures/{structure_id}/attachment-requests",
        params={"status": "EN_COURS_DE_VALIDATION"},
        headers=as_manuela,
    )
    [listed] = pending.json()["items"]
    assert (listed["id"], listed["requester"]["first_name"]) == (request_id, "Pierre")

    # Manuela accepts him as secondary manager.
    decided = await api.post(
        f"/attachment-requests/{request_id}/decision",
        json={"decision": "VALIDEE", "role": "GESTIONNAIRE_SECONDAIRE", "comment": "Bienvenue !"},
        headers=as_manuela,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "VALIDEE"
    accepted_mail = await mailbox.wait_for(pierre_email, "accepté")
    assert "en tant que gestionnaire secondaire" in accepted_mail["Text"]
    assert "Bienvenue !" in accepted_mail["Text"]
    assert await my_role(api, as_pierre, structure_id) == "GESTIONNAIRE_SECONDAIRE"
    expected = {manuela_id: "GESTIONNAIRE_PRINCIPAL", pierre_id: "GESTIONNAIRE_SECONDAIRE"}
    assert await member_roles(api, as_manuela, structure_id) == expected
    assert await member_roles(api, as_pierre, structure_id) == expected

    # Manuela hands the principal role to Pierre; she stays secondary.
    transfer = await api.post(
        f"/structures/{structure_id}/principal-manager",
        json={"user_id": pierre_id},
        headers=as_manuela,
    )
    assert transfer.status_code == 200, transfer.text
    assert transfer.json()["principal"]["user_id"] == pierre_id
    assert transfer.json()["previous_principal"]["role"] == "GESTIONNAIRE_SECONDAIRE"
    assert await my_role(api, as_pierre, structure_id) == "GESTIONNAIRE_PRINCIPAL"
    assert await my_role(api, as_manuela, structure_id) == "GESTIONNAIRE_SECONDAIRE"
    swapped = {manuela_id: "GESTIONNAIRE_SECONDAIRE", pierre_id: "GESTIONNAIRE_PRINCIPAL"}
    assert await member_roles(api, as_manuela, structure_id) == swapped
    assert await member_roles(api, as_pierre, structure_id) == swapped
    promoted_mail = await mailbox.wait_for(pierre_email, "Vous êtes gestionnaire principal")
    assert "Manuela Dupont vous a transmis" in promoted_mail["Text"]
    handed_mail = await mailbox.wait_for(manuela_email, "gestionnaire principal")
    assert "à Pierre Martin" in handed_mail["Text"]

    # Manuela, still a manager, opens "Engagements": both managers may use it.
    opened = await api.put(f"/structures/{structure_id}/spaces/ENGAGEMENTS", headers=as_manuela)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["open"], opened.json()["access_mode"]) == (True, "MODIFICATION")
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=as_pierre)
    engagements = next(s for s in spaces.json()["items"] if s["space"] == "ENGAGEMENTS")
    assert (engagements["open"], engagements["access_mode"]) == (True, "MODIFICATION")
    for auth in (as_manuela, as_pierre):
        memberships = (await api.get("/me/structures", headers=auth)).json()["items"]
        [membership] = [m for m in memberships if m["structure"]["id"] == structure_id]
        assert {"space": "ENGAGEMENTS", "mode": "MODIFICATION"} in membership["spaces"]

    # The manager history tells the story, newest first, to both managers.
    story = [
        "SPACE_OPENED",
        "PRINCIPAL_TRANSFERRED",
        "ATTACHMENT_ACCEPTED",
        "STRUCTURE_CREATED",
    ]
    assert await history_kinds(api, as_manuela, structure_id) == story
    assert await history_kinds(api, as_pierre, structure_id) == story

    # Each got exactly the e-mails meant for them.
    manuela_subjects = {m["Subject"] for m in await mailbox.messages_to(manuela_email)}
    pierre_subjects = {m["Subject"] for m in await mailbox.messages_to(pierre_email)}
    assert manuela_subjects == {
        "Activez votre compte Chorus",
        "Demande de rattachement à « Les Délices de Savoie »",
        "Rôle de gestionnaire principal de « Les Délices de Savoie » transmis",
    }
    assert pierre_subjects == {
        "Activez votre compte Chorus",
        "Rattachement à « Les Délices de Savoie » accepté",
        "Vous êtes gestionnaire principal de « Les Délices de Savoie »",
    }


async def test_webinar_failure_paths(stack, api, mailbox):
    _, _, as_manuela = await activated_user(api, mailbox, "Manuela")
    pierre_id, _, as_pierre = await activated_user(api, mailbox, "Pierre", "Martin")
    _, _, as_simone = await activated_user(api, mailbox, "Simone")
    siret = random_siret()
    created = await api.post("/structures", json=structure_body(siret), headers=as_manuela)
    structure_id = created.json()["id"]
    members = await api.get(f"/structures/{structure_id}/members", headers=as_manuela)
    [manuela] = members.json()["items"]

    # Duplicate structure.
    duplicate = await api.post("/structures", json=structure_body(siret), headers=as_pierre)
    problem(duplicate, 409, "STRUCTURE_ALREADY_EXISTS")

    # Each invalid identifier type, with its own code.
    for identifier_type, identifier, code in [
        ("SIRET", "1234", "SIRET_FORMAT_INVALID"),
        ("SIRET", siret[:-1] + str((int(siret[-1]) + 1) % 10), "SIRET_CHECKSUM_INVALID"),
        ("UE_HORS_FRANCE", "DE123", "EU_VAT_INVALID"),
        ("UE_HORS_FRANCE", "FR40303265045", "EU_VAT_FRENCH_NUMBER"),
        ("HORS_UE", "X", "IDENTIFIER_FORMAT_INVALID"),
        ("RIDET", "12345", "RIDET_FORMAT_INVALID"),
        ("TAHITI", "12", "TAHITI_FORMAT_INVALID"),
        ("PARTICULIER", "x" * 81, "IDENTIFIER_TOO_LONG"),
        ("AUTRE", "   ", "IDENTIFIER_REQUIRED"),
    ]:
        response = await api.post(
            "/structures", json=structure_body(identifier, identifier_type), headers=as_pierre
        )
        problem(response, 422, code)
        assert response.json()["errors"][0]["field"] == "identifier"

    # Double pending request, and deciding an already decided one.
    first = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=as_pierre
    )
    assert first.status_code == 201, first.text
    again = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=as_pierre
    )
    problem(again, 409, "ATTACHMENT_REQUEST_PENDING")
    decision = {"decision": "VALIDEE", "role": "GESTIONNAIRE_SECONDAIRE"}
    path = f"/attachment-requests/{first.json()['id']}/decision"
    assert (await api.post(path, json=decision, headers=as_manuela)).status_code == 200
    problem(
        await api.post(path, json=decision, headers=as_manuela),
        409,
        "ATTACHMENT_REQUEST_ALREADY_DECIDED",
    )

    # A simple user trying manager actions.
    simone_request = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=as_simone
    )
    simone_path = f"/attachment-requests/{simone_request.json()['id']}/decision"
    accepted = await api.post(simone_path, json={"decision": "VALIDEE"}, headers=as_pierre)
    assert accepted.json()["granted_role"] == "UTILISATEUR"
    for response in (
        await api.put(f"/structures/{structure_id}/spaces/ENGAGEMENTS", headers=as_simone),
        await api.get(f"/structures/{structure_id}/attachment-requests", headers=as_simone),
        await api.get(f"/structures/{structure_id}/history", headers=as_simone),
        await api.patch(
            f"/structures/{structure_id}/members/{pierre_id}",
            json={"role": "UTILISATEUR"},
            headers=as_simone,
        ),
        await api.delete(f"/structures/{structure_id}/members/{pierre_id}", headers=as_simone),
    ):
        problem(response, 403, "MANAGER_REQUIRED")

    # A secondary manager trying to transfer the principal role.
    transfer = await api.post(
        f"/structures/{structure_id}/principal-manager",
        json={"user_id": pierre_id},
        headers=as_pierre,
    )
    problem(transfer, 403, "PRINCIPAL_MANAGER_REQUIRED")

    # Removing the principal manager (and the principal leaving before a transfer).
    removal = await api.delete(
        f"/structures/{structure_id}/members/{manuela['user_id']}", headers=as_pierre
    )
    problem(removal, 409, "PRINCIPAL_CANNOT_BE_DETACHED")
    leaving = await api.delete(f"/me/structures/{structure_id}", headers=as_manuela)
    problem(leaving, 409, "PRINCIPAL_MUST_TRANSFER_FIRST")
    roles = await member_roles(api, as_manuela, structure_id)
    assert roles[manuela["user_id"]] == "GESTIONNAIRE_PRINCIPAL"


async def test_the_default_directory_is_loaded_and_searchable(stack, api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Paul")

    communes = await api.get(
        "/structures", params={"name": "commune", "kind": "PUBLIQUE", "page_size": 5}, headers=auth
    )
    demo = await api.get("/structures", params={"identifier": "217500016"}, headers=auth)

    assert communes.status_code == 200, communes.text
    assert len(communes.json()["items"]) == 5
    assert communes.json()["next_page_token"]
    assert all(item["kind"] == "PUBLIQUE" for item in communes.json()["items"])
    [ville] = demo.json()["items"]
    assert (ville["raison_sociale"], ville["routing"]["service_code_required"]) == (
        "Ville de Démoville",
        True,
    )
