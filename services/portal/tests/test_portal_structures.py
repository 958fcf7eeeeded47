"""Portal structure pages against service doubles: "Mes structures" (memberships, creation,
search, attachment requests), one structure (members, requests, services, spaces,
subscriptions, the structure's and its services' changes, status, paged pending lists) and
its managers' history, with their refusals (CSRF, a field error beside its field, a manager's
action refused to a simple member, a structure of which the caller is not a member)."""

from __future__ import annotations

import pytest
from chorus.common.v1 import common_pb2
from chorus.identity.v1 import identity_service_pb2 as ipb
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)
from google.protobuf.timestamp_pb2 import Timestamp

from .test_portal import HTML, csrf_of

STRUCTURE_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
OTHER_ID = "5d1c9e0a-2b3f-4c5d-8e6f-7a8b9c0d1e2f"
ME = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
REQUEST_ID = "33333333-3333-4333-8333-333333333333"
SUBSCRIPTION_ID = "44444444-4444-4444-8444-444444444444"
SERVICE_ID = "55555555-5555-4555-8555-555555555555"
SIRET = "73282932000074"


def structure(structure_id: str = STRUCTURE_ID, name: str = "Fromagerie Dupont") -> pb.Structure:
    return pb.Structure(
        id=structure_id,
        identifier_type=pb.IDENTIFIER_TYPE_SIRET,
        identifier=SIRET,
        raison_sociale=name,
        kind=pb.STRUCTURE_KIND_PRIVEE,
        status=pb.STRUCTURE_STATUS_ACTIVE,
        address=common_pb2.Address(
            line1="1 rue du Lait", postal_code="73000", city="Chambéry", country="FR"
        ),
        services=[pb.StructureService(id=SERVICE_ID, code="COMPTA", name="Comptabilité")],
    )


def membership(role=pb.ROLE_GESTIONNAIRE_PRINCIPAL) -> pb.Membership:
    return pb.Membership(
        structure=structure(),
        role=role,
        spaces=[
            pb.SpaceAccess(space=pb.SPACE_FACTURES_EMISES, mode=pb.ACCESS_MODE_MODIFICATION),
            pb.SpaceAccess(space=pb.SPACE_MON_COMPTE, mode=pb.ACCESS_MODE_MODIFICATION),
        ],
    )


def members() -> pb.ListMembersResponse:
    return pb.ListMembersResponse(
        members=[
            pb.Member(
                user=pb.Person(user_id=ME, first_name="Alice", last_name="Martin", email="a@x.fr"),
                role=pb.ROLE_GESTIONNAIRE_PRINCIPAL,
                since=Timestamp(seconds=1_767_225_600),
            ),
            pb.Member(
                user=pb.Person(user_id=BOB, first_name="Bob", last_name="Petit", email="b@x.fr"),
                role=pb.ROLE_UTILISATEUR,
                service_ids=[SERVICE_ID],
            ),
        ]
    )


def spaces() -> pb.ListSpacesResponse:
    return pb.ListSpacesResponse(
        spaces=[
            pb.SpaceState(
                space=pb.SPACE_FACTURES_EMISES,
                open=True,
                access_mode=pb.ACCESS_MODE_MODIFICATION,
                self_subscription=True,
            ),
            pb.SpaceState(space=pb.SPACE_MON_COMPTE, open=True, always_open=True),
            pb.SpaceState(space=pb.SPACE_ENGAGEMENTS, open=True),
            pb.SpaceState(space=pb.SPACE_SUIVI_FLUX, open=False),
        ]
    )


def with_detail(services, role=pb.ROLE_GESTIONNAIRE_PRINCIPAL) -> None:
    s = services.structures
    s.answer("GetStructure", pb.GetStructureResponse(structure=structure()))
    s.answer("ListSpaces", spaces())
    s.answer("ListMembers", members())
    s.answer("ListMyMemberships", pb.ListMyMembershipsResponse(memberships=[membership(role)]))
    s.answer(
        "ListAttachmentRequests",
        pb.ListAttachmentRequestsResponse(
            requests=[
                pb.AttachmentRequest(
                    id=REQUEST_ID,
                    structure_id=STRUCTURE_ID,
                    requester=pb.Person(
                        user_id=OTHER_ID, first_name="Chloé", last_name="Durand", email="c@x.fr"
                    ),
                    status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION,
                    comment="Je suis la nouvelle comptable.",
                )
            ]
        ),
    )
    s.answer(
        "ListSubscriptions",
        pb.ListSubscriptionsResponse(
            subscriptions=[
                pb.Subscription(
                    id=SUBSCRIPTION_ID,
                    structure_id=STRUCTURE_ID,
                    user=pb.Person(user_id=BOB, first_name="Bob", last_name="Petit"),
                    space=pb.SPACE_ENGAGEMENTS,
                    mode=pb.ACCESS_MODE_CONSULTATION,
                    status=pb.SUBSCRIPTION_STATUS_EN_COURS_DE_VALIDATION,
                )
            ]
        ),
    )
    services.identity.answer("GetMe", ipb.GetMeResponse(user=ipb.User(id=ME)))


def with_list(services, requests=(), memberships=None) -> None:
    s = services.structures
    found = [membership()] if memberships is None else memberships
    s.answer("ListMyMemberships", pb.ListMyMembershipsResponse(memberships=found))
    s.answer(
        "ListMyAttachmentRequests", pb.ListMyAttachmentRequestsResponse(requests=list(requests))
    )


@pytest.fixture
def signed_in(api):
    api.cookies.set("chorus_session", "acc-1")
    return api


async def list_csrf(client) -> str:
    page = await client.get("/structures", headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def detail_csrf(client) -> str:
    page = await client.get(f"/structures/{STRUCTURE_ID}", headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def create_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "identifier_type": "SIRET",
        "identifier": "732 829 320 00074",
        "raison_sociale": "Fromagerie Dupont",
        "libelle": "",
        "line1": "1 rue du Lait",
        "line2": "",
        "postal_code": "73000",
        "city": "Chambéry",
        "country": "FR",
    }
    return {**form, **changes}


# Mes structures


async def test_pages_ask_to_sign_in_first(api, services):
    for path in ("/structures", f"/structures/{STRUCTURE_ID}", "/mon-compte"):
        response = await api.get(path, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion?suivant=" + path.replace("/", "%2F")
    assert services.structures.calls == [] and services.identity.calls == []


async def test_list_shows_memberships_roles_spaces_and_pending_requests(signed_in, services):
    with_list(
        services,
        requests=[
            pb.AttachmentRequest(
                id=REQUEST_ID,
                structure_id=OTHER_ID,
                structure_name="Ville de Démoville",
                status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION,
            ),
            pb.AttachmentRequest(
                id=SUBSCRIPTION_ID,
                structure_id=OTHER_ID,
                structure_name="Agence lointaine",
                status=pb.ATTACHMENT_REQUEST_STATUS_REFUSEE,
                decision_comment="Nous ne vous connaissons pas.",
            ),
        ],
    )

    response = await signed_in.get("/structures", headers=HTML)

    page = response.text
    assert response.status_code == 200
    assert f'<a href="/structures/{STRUCTURE_ID}">Fromagerie Dupont</a>' in page
    assert SIRET in page
    assert "<td>Gestionnaire principal</td>" in page
    assert "Factures émises, Mon compte" in page
    assert "Ville de Démoville" in page and "En cours de validation" in page
    assert f'action="/structures/demandes/{REQUEST_ID}/annulation"' in page
    assert f'action="/structures/demandes/{SUBSCRIPTION_ID}/annulation"' not in page
    assert "Nous ne vous connaissons pas." in page
    assert 'action="/structures"' in page and "Créer une structure" in page
    [call] = services.structures.calls_to("ListMyMemberships")
    assert call.metadata["authorization"] == "Bearer acc-1"


async def test_newcomer_is_told_how_to_start(signed_in, services):
    with_list(services, memberships=[])

    page = (await signed_in.get("/structures", headers=HTML)).text

    assert "Vous n'êtes membre d'aucune structure." in page


async def test_search_by_siret_or_name_offers_the_attachment_request(signed_in, services):
    with_list(services, memberships=[])
    services.structures.answer(
        "SearchStructures",
        pb.SearchStructuresResponse(structures=[structure(OTHER_ID, "Ville de Démoville")]),
    )

    by_siret = await signed_in.get("/structures", params={"recherche": "732 829"}, headers=HTML)
    by_name = await signed_in.get("/structures", params={"recherche": "demoville"}, headers=HTML)
    too_short = await signed_in.get("/structures", params={"recherche": "d"}, headers=HTML)

    assert "Ville de Démoville" in by_siret.text and "Ville de Démoville" in by_name.text
    assert f'action="/structures/{OTHER_ID}/rattachement"' in by_siret.text
    assert "Demander le rattachement" in by_siret.text
    first, second = services.structures.calls_to("SearchStructures")
    assert (first.request.identifier_prefix, first.request.name) == ("732829", "")
    assert (second.request.identifier_prefix, second.request.name) == ("", "demoville")
    assert 'id="recherche-error">Saisissez au moins 3 chiffres' in too_short.text


async def test_a_whole_siret_is_an_exact_search_that_finds_a_private_company(signed_in, services):
    with_list(services, memberships=[])
    services.structures.answer(
        "SearchStructures",
        pb.SearchStructuresResponse(structures=[structure(OTHER_ID, "Boulangerie Privée")]),
    )

    page = await signed_in.get(
        "/structures", params={"recherche": "732 829 320 00074"}, headers=HTML
    )

    assert f'action="/structures/{OTHER_ID}/rattachement"' in page.text
    [call] = services.structures.calls_to("SearchStructures")
    assert (call.request.identifier_type, call.request.identifier) == (
        pb.IDENTIFIER_TYPE_SIRET,
        "73282932000074",
    )
    assert (call.request.identifier_prefix, call.request.name) == ("", "")
    assert "SIRET complet (14 chiffres)" in page.text


async def test_search_marks_structures_already_joined_or_asked(signed_in, services):
    with_list(
        services,
        requests=[
            pb.AttachmentRequest(
                id=REQUEST_ID,
                structure_id=OTHER_ID,
                status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION,
            )
        ],
    )
    services.structures.answer(
        "SearchStructures",
        pb.SearchStructuresResponse(structures=[structure(), structure(OTHER_ID, "Ville")]),
    )

    page = (await signed_in.get("/structures", params={"recherche": "73282"}, headers=HTML)).text

    assert "Vous en êtes membre" in page
    assert "Demande en cours de validation" in page
    assert "/rattachement" not in page


async def test_creating_a_structure_sends_the_form_and_opens_it(signed_in, services):
    with_list(services)
    services.structures.answer("CreateStructure", pb.CreateStructureResponse(structure=structure()))
    csrf = await list_csrf(signed_in)

    response = await signed_in.post("/structures", data=create_form(csrf), headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=creee"
    [call] = services.structures.calls_to("CreateStructure")
    sent = call.request
    assert sent.identifier_type == pb.IDENTIFIER_TYPE_SIRET
    assert (sent.identifier, sent.raison_sociale) == ("732 829 320 00074", "Fromagerie Dupont")
    assert (sent.address.line1, sent.address.postal_code) == ("1 rue du Lait", "73000")
    assert (sent.address.city, sent.address.country) == ("Chambéry", "FR")
    with_detail(services)
    shown = await signed_in.get(response.headers["location"], headers=HTML)
    assert "Structure créée : vous en êtes le gestionnaire principal." in shown.text


async def test_invalid_siret_is_shown_beside_the_identifier_field(signed_in, services):
    with_list(services)
    message = "Ce SIRET n'existe pas : sa clé de contrôle est incorrecte."
    services.structures.answer(
        "CreateStructure",
        InvalidArgument(
            "SIRET_CHECKSUM_INVALID",
            message,
            [
                FieldViolation("identifier", message),
                FieldViolation("address.city", "Indiquez la ville."),
            ],
        ),
    )
    csrf = await list_csrf(signed_in)

    response = await signed_in.post(
        "/structures", data=create_form(csrf, identifier="73282932000075", city=""), headers=HTML
    )

    page = response.text
    assert response.status_code == 422
    assert (
        f'<p class="field-error" id="identifier-error">{message}</p>'.replace("'", "&#39;") in page
    )
    assert '<p class="field-error" id="city-error">Indiquez la ville.</p>' in page
    assert 'value="73282932000075"' in page and 'value="Fromagerie Dupont"' in page


async def test_forms_without_csrf_token_are_refused_without_a_call(signed_in, services):
    with_list(services)
    with_detail(services)
    await list_csrf(signed_in)

    created = await signed_in.post("/structures", data=create_form("forged"), headers=HTML)
    asked = await signed_in.post(
        f"/structures/{OTHER_ID}/rattachement", data={"comment": "x"}, headers=HTML
    )
    decided = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/demandes/{REQUEST_ID}/decision",
        data={"csrf_token": "forged", "decision": "VALIDEE"},
        headers=HTML,
    )

    for response in (created, asked, decided):
        assert response.status_code == 403
        assert "Rechargez la page" in response.text
    for method in ("CreateStructure", "RequestAttachment", "DecideAttachmentRequest"):
        assert services.structures.calls_to(method) == []


async def test_attachment_request_and_its_cancellation(signed_in, services):
    with_list(services)
    services.structures.answer(
        "RequestAttachment", pb.RequestAttachmentResponse(request=pb.AttachmentRequest())
    )
    services.structures.answer(
        "CancelAttachmentRequest",
        pb.CancelAttachmentRequestResponse(request=pb.AttachmentRequest()),
    )
    csrf = await list_csrf(signed_in)

    asked = await signed_in.post(
        f"/structures/{OTHER_ID}/rattachement",
        data={"csrf_token": csrf, "comment": " Comptable depuis mars "},
        headers=HTML,
    )
    cancelled = await signed_in.post(
        f"/structures/demandes/{REQUEST_ID}/annulation", data={"csrf_token": csrf}, headers=HTML
    )

    assert asked.headers["location"] == "/structures?avis=demande"
    assert cancelled.headers["location"] == "/structures?avis=annulee"
    [call] = services.structures.calls_to("RequestAttachment")
    assert (call.request.structure_id, call.request.comment) == (OTHER_ID, "Comptable depuis mars")
    [cancel] = services.structures.calls_to("CancelAttachmentRequest")
    assert cancel.request.request_id == REQUEST_ID


async def test_refused_attachment_request_shows_the_message(signed_in, services):
    with_list(services)
    services.structures.answer(
        "RequestAttachment",
        FailedPrecondition("ALREADY_A_MEMBER", "Vous êtes déjà membre de cette structure."),
    )
    csrf = await list_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/rattachement", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.status_code == 409
    assert "Vous êtes déjà membre de cette structure." in response.text


# One structure


async def test_manager_sees_members_requests_services_spaces_and_subscriptions(signed_in, services):
    with_detail(services)

    response = await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)

    page = response.text
    assert response.status_code == 200
    for text in (
        "<h1>Fromagerie Dupont</h1>",
        '<strong id="my-role">Gestionnaire principal</strong>',
        "1 rue du Lait, 73000 Chambéry, FR",
        "Alice Martin",
        '<span class="hint">(vous)</span>',
        "Bob Petit",
        "<td>Comptabilité</td>",
        "Je suis la nouvelle comptable.",
        "Chloé Durand (c@x.fr)",
        "Suivi des flux",
        "Toujours ouvert",
    ):
        assert text in page, text
    base = f'action="/structures/{STRUCTURE_ID}'
    for action in (
        f"/demandes/{REQUEST_ID}/decision",
        f"/membres/{BOB}",
        f"/membres/{BOB}/detachement",
        '/membres"',
        "/gestionnaire-principal",
        '/services"',
        "/espaces/SUIVI_FLUX/ouverture",
        "/espaces/ENGAGEMENTS/fermeture",
        f"/abonnements/{SUBSCRIPTION_ID}/decision",
        "/depart",
    ):
        assert base + action in page, action
    assert f"/membres/{ME}" not in page  # a manager does not edit themself here
    assert "/espaces/MON_COMPTE/fermeture" not in page
    [requests] = services.structures.calls_to("ListAttachmentRequests")
    assert requests.request.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION


async def test_simple_member_sees_no_manager_forms(signed_in, services):
    with_detail(services, role=pb.ROLE_UTILISATEUR)

    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    assert '<strong id="my-role">Utilisateur</strong>' in page
    for hidden in ("/decision", "/membres", "/gestionnaire-principal", '/services"', "/ouverture"):
        assert hidden not in page, hidden
    assert f'action="/structures/{STRUCTURE_ID}/espaces/ENGAGEMENTS/abonnement"' in page
    assert "/espaces/SUIVI_FLUX/abonnement" not in page  # closed
    assert f'action="/structures/{STRUCTURE_ID}/depart"' in page
    assert services.structures.calls_to("ListAttachmentRequests") == []


async def test_foreign_or_malformed_structure_is_the_french_404_page(signed_in, services):
    with_detail(services)
    services.structures.answer(
        "ListSpaces", PermissionDenied("NOT_A_MEMBER", "Vous n'êtes pas membre de cette structure.")
    )

    foreign = await signed_in.get(f"/structures/{OTHER_ID}", headers=HTML)
    malformed = await signed_in.get("/structures/pas-un-id", headers=HTML)

    for response in (foreign, malformed):
        assert response.status_code == 404
        assert "Structure introuvable" in response.text
        assert "<html" in response.text
    assert [c.request.structure_id for c in services.structures.calls_to("ListSpaces")] == [
        OTHER_ID
    ]


async def test_expired_session_goes_back_to_login(signed_in, services):
    services.structures.answer(
        "ListMyMemberships", Unauthenticated("TOKEN_EXPIRED", "Session expirée.")
    )
    services.structures.answer("ListMyAttachmentRequests", pb.ListMyAttachmentRequestsResponse())

    response = await signed_in.get("/structures", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Fstructures"


async def test_accepting_a_request_grants_the_chosen_role(signed_in, services):
    with_detail(services)
    services.structures.answer(
        "DecideAttachmentRequest",
        pb.DecideAttachmentRequestResponse(request=pb.AttachmentRequest()),
    )
    csrf = await detail_csrf(signed_in)

    accepted = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/demandes/{REQUEST_ID}/decision",
        data={"csrf_token": csrf, "decision": "VALIDEE", "role": "GESTIONNAIRE_SECONDAIRE"},
        headers=HTML,
    )
    refused = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/demandes/{REQUEST_ID}/decision",
        data={"csrf_token": csrf, "decision": "REFUSEE", "comment": "Inconnue ici."},
        headers=HTML,
    )

    assert accepted.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=acceptee"
    assert refused.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=refusee"
    first, second = services.structures.calls_to("DecideAttachmentRequest")
    assert first.request.request_id == REQUEST_ID
    assert (first.request.decision, first.request.role) == (
        pb.DECISION_VALIDEE,
        pb.ROLE_GESTIONNAIRE_SECONDAIRE,
    )
    assert (second.request.decision, second.request.role) == (pb.DECISION_REFUSEE, 0)
    assert second.request.comment == "Inconnue ici."


async def test_refusal_comment_error_is_shown_beside_that_request(signed_in, services):
    with_detail(services)
    message = "Le commentaire fait au plus 500 caractères."
    services.structures.answer(
        "DecideAttachmentRequest",
        InvalidArgument("COMMENT_TOO_LONG", message, [FieldViolation("comment", message)]),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/demandes/{REQUEST_ID}/decision",
        data={
            "csrf_token": csrf,
            "decision": "REFUSEE",
            "comment": "trop long",
            "target": REQUEST_ID,
        },
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="refuse-1-comment-error">{message}</p>' in response.text
    assert ">trop long</textarea>" in response.text


async def test_manager_action_refused_to_a_simple_member_shows_the_message(signed_in, services):
    with_detail(services, role=pb.ROLE_UTILISATEUR)
    services.structures.answer(
        "OpenSpace",
        PermissionDenied(
            "MANAGER_REQUIRED", "Seul un gestionnaire de la structure peut faire cette action."
        ),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/espaces/SUIVI_FLUX/ouverture",
        data={"csrf_token": csrf},
        headers=HTML,
    )

    assert response.status_code == 403
    assert "Seul un gestionnaire de la structure peut faire cette action." in response.text
    [call] = services.structures.calls_to("OpenSpace")
    assert call.request.space == pb.SPACE_SUIVI_FLUX


async def test_principal_cannot_leave_before_transferring(signed_in, services):
    with_detail(services)
    message = "Transférez d'abord le rôle de gestionnaire principal à un autre membre."
    services.structures.answer(
        "LeaveStructure", FailedPrecondition("PRINCIPAL_MUST_TRANSFER_FIRST", message)
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/depart", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.status_code == 409
    assert message.replace("'", "&#39;") in response.text


async def test_member_management_forms_send_their_requests(signed_in, services):
    with_detail(services)
    s = services.structures
    s.answer("UpdateMember", pb.UpdateMemberResponse(member=pb.Member()))
    s.answer("DetachMember", pb.DetachMemberResponse())
    s.answer("AttachMemberByEmail", pb.AttachMemberByEmailResponse(member=pb.Member()))
    s.answer("TransferPrincipalRole", pb.TransferPrincipalRoleResponse())
    s.answer("CreateService", pb.CreateServiceResponse(service=pb.StructureService()))
    s.answer("CloseSpace", pb.CloseSpaceResponse(space=pb.SpaceState()))
    s.answer("DecideSubscription", pb.DecideSubscriptionResponse(subscription=pb.Subscription()))
    csrf = await detail_csrf(signed_in)
    base = f"/structures/{STRUCTURE_ID}"
    posts = {
        f"{base}/membres/{BOB}": {"role": "GESTIONNAIRE_SECONDAIRE", "service_ids": SERVICE_ID},
        f"{base}/membres/{BOB}/detachement": {},
        f"{base}/membres": {"login_email": "d@x.fr", "role": "UTILISATEUR"},
        f"{base}/gestionnaire-principal": {"user_id": BOB},
        f"{base}/services": {"code": "ACHATS", "name": "Achats", "engagement_required": "on"},
        f"{base}/espaces/ENGAGEMENTS/fermeture": {},
        f"{base}/abonnements/{SUBSCRIPTION_ID}/decision": {"decision": "VALIDEE"},
    }

    for path, data in posts.items():
        response = await signed_in.post(path, data={"csrf_token": csrf, **data}, headers=HTML)
        assert response.status_code == 303, (path, response.text)
        assert response.headers["location"].startswith(f"{base}?avis=")

    [update] = s.calls_to("UpdateMember")
    assert (update.request.user_id, update.request.role) == (BOB, pb.ROLE_GESTIONNAIRE_SECONDAIRE)
    assert list(update.request.services.service_ids) == [SERVICE_ID]
    assert s.calls_to("DetachMember")[0].request.user_id == BOB
    attach = s.calls_to("AttachMemberByEmail")[0].request
    assert (attach.login_email, attach.role) == ("d@x.fr", pb.ROLE_UTILISATEUR)
    assert s.calls_to("TransferPrincipalRole")[0].request.user_id == BOB
    service = s.calls_to("CreateService")[0].request
    assert (service.code, service.name, service.engagement_required) == ("ACHATS", "Achats", True)
    assert s.calls_to("CloseSpace")[0].request.space == pb.SPACE_ENGAGEMENTS
    decided = s.calls_to("DecideSubscription")[0].request
    assert (decided.subscription_id, decided.decision) == (SUBSCRIPTION_ID, pb.DECISION_VALIDEE)


async def test_member_asks_for_a_space_in_a_mode(signed_in, services):
    with_detail(services, role=pb.ROLE_UTILISATEUR)
    services.structures.answer(
        "RequestSubscription", pb.RequestSubscriptionResponse(subscription=pb.Subscription())
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/espaces/ENGAGEMENTS/abonnement",
        data={"csrf_token": csrf, "mode": "MODIFICATION"},
        headers=HTML,
    )

    assert response.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=abonnement"
    [call] = services.structures.calls_to("RequestSubscription")
    assert (call.request.space, call.request.mode) == (
        pb.SPACE_ENGAGEMENTS,
        pb.ACCESS_MODE_MODIFICATION,
    )


async def test_action_on_a_foreign_structure_is_the_404_page(signed_in, services):
    with_detail(services)
    csrf = await detail_csrf(signed_in)
    services.structures.answer(
        "LeaveStructure", PermissionDenied("NOT_A_MEMBER", "Vous n'êtes pas membre.")
    )

    left = await signed_in.post(
        f"/structures/{OTHER_ID}/depart", data={"csrf_token": csrf}, headers=HTML
    )
    malformed = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/membres/pas-un-id/detachement",
        data={"csrf_token": csrf},
        headers=HTML,
    )

    assert left.status_code == 404 and "Structure introuvable" in left.text
    assert malformed.status_code == 404
    assert services.structures.calls_to("DetachMember") == []


async def test_signed_in_layout_links_the_structure_and_account_pages(signed_in, services):
    with_list(services)

    page = (await signed_in.get("/structures", headers=HTML)).text

    assert '<a href="/structures">Mes structures</a>' in page
    assert '<a href="/mon-compte">Mon compte</a>' in page
    assert '<a href="/factures">Mes factures</a>' in page


# Managers: the structure's details, status and services


def public_detail(services, role=pb.ROLE_GESTIONNAIRE_PRINCIPAL) -> None:
    with_detail(services, role)
    public = structure()
    public.kind = pb.STRUCTURE_KIND_PUBLIQUE
    public.routing.engagement_required = True
    services.structures.answer("GetStructure", pb.GetStructureResponse(structure=public))


def update_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "raison_sociale": " Fromagerie Dupont et Fils ",
        "libelle": "Dupont",
        "line1": "2 rue du Lait",
        "line2": "",
        "postal_code": "73000",
        "city": "Chambéry",
        "country": "FR",
        "email": "contact@dupont.fr",
        "vat_number": "",
    }
    return {**form, **changes}


async def test_manager_forms_for_details_status_services_and_history(signed_in, services):
    with_detail(services)

    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    base = f'action="/structures/{STRUCTURE_ID}'
    for action in ('/modification"', '/statut"', f'/services/{SERVICE_ID}"'):
        assert base + action in page, action
    assert (
        'id="update-raison_sociale" name="raison_sociale" type="text" value="Fromagerie Dupont"'
        in page
    )
    assert 'name="status" value="INACTIVE"' in page  # active: the principal may deactivate
    assert f'href="/structures/{STRUCTURE_ID}/historique"' in page
    assert 'name="routing"' not in page  # a private structure has no routing parameters


async def test_secondary_manager_has_no_status_form_and_a_member_no_manager_form(
    signed_in, services
):
    with_detail(services, role=pb.ROLE_GESTIONNAIRE_SECONDAIRE)
    secondary = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text
    with_detail(services, role=pb.ROLE_UTILISATEUR)
    member = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    assert "/modification" in secondary and "/statut" not in secondary
    for hidden in ("/modification", "/statut", f"/services/{SERVICE_ID}", "/historique"):
        assert hidden not in member, hidden


async def test_structure_update_sends_the_api_request(signed_in, services):
    with_detail(services)
    services.structures.answer("UpdateStructure", pb.UpdateStructureResponse(structure=structure()))
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/modification", data=update_form(csrf), headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=modifiee"
    [call] = services.structures.calls_to("UpdateStructure")
    sent = call.request
    assert sent.structure_id == STRUCTURE_ID
    assert (sent.raison_sociale, sent.libelle, sent.email) == (
        "Fromagerie Dupont et Fils",  # the form's text() trims; the service checks the rest
        "Dupont",
        "contact@dupont.fr",
    )
    assert sent.HasField("vat_number") and sent.vat_number == ""
    assert (sent.address.line1, sent.address.city, sent.address.country) == (
        "2 rue du Lait",
        "Chambéry",
        "FR",
    )
    assert sent.status == pb.STRUCTURE_STATUS_UNSPECIFIED  # unchanged
    for name in ("service_code_required", "engagement_required"):
        assert not sent.HasField(name), name  # a private structure's form has none
    notice = await signed_in.get(response.headers["location"], headers=HTML)
    assert "Structure mise à jour." in notice.text


async def test_public_structure_update_sends_its_routing_parameters(signed_in, services):
    public_detail(services)
    services.structures.answer("UpdateStructure", pb.UpdateStructureResponse(structure=structure()))
    csrf = await detail_csrf(signed_in)
    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text
    assert 'id="update-engagement_required" name="engagement_required" checked' in page
    assert "Statut de paiement non remonté" in page

    await signed_in.post(
        f"/structures/{STRUCTURE_ID}/modification",
        data=update_form(csrf, routing="1", service_code_required="on"),
        headers=HTML,
    )

    [call] = services.structures.calls_to("UpdateStructure")
    sent = call.request
    assert (sent.service_code_required, sent.engagement_required) == (True, False)
    assert sent.HasField("service_or_engagement_required")
    assert sent.HasField("payment_status_not_reported")


async def test_structure_update_field_error_is_shown_beside_the_field(signed_in, services):
    with_detail(services)
    message = "Saisissez la ville."
    services.structures.answer(
        "UpdateStructure",
        InvalidArgument("ADDRESS_INVALID", message, [FieldViolation("address.city", message)]),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/modification",
        data=update_form(csrf, city="", raison_sociale="Nouveau nom"),
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="update-city-error">{message}</p>' in response.text
    assert 'name="raison_sociale" type="text" value="Nouveau nom"' in response.text  # kept


async def test_routing_refused_to_a_private_structure_shows_the_message_in_the_form(
    signed_in, services
):
    with_detail(services)
    message = "Les paramètres de réception des factures ne concernent que les structures publiques."
    services.structures.answer(
        "UpdateStructure", FailedPrecondition("ROUTING_PARAMETERS_PUBLIC_ONLY", message)
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/modification",
        data=update_form(csrf, routing="1", engagement_required="on"),
        headers=HTML,
    )

    assert response.status_code == 409
    assert f'<p class="field-error" id="update-error">{message}</p>' in response.text
    assert services.structures.calls_to("UpdateStructure")[0].request.engagement_required


async def test_status_change_is_confirmed_first_then_sent(signed_in, services):
    with_detail(services)
    services.structures.answer("UpdateStructure", pb.UpdateStructureResponse(structure=structure()))
    csrf = await detail_csrf(signed_in)
    path = f"/structures/{STRUCTURE_ID}/statut"

    unconfirmed = await signed_in.post(
        path, data={"csrf_token": csrf, "status": "INACTIVE"}, headers=HTML
    )
    assert unconfirmed.status_code == 422
    confirm = "Cochez cette case pour confirmer."
    assert (
        f'<p class="field-error" id="status-confirmation-error">{confirm}</p>' in unconfirmed.text
    )
    assert services.structures.calls_to("UpdateStructure") == []

    confirmed = await signed_in.post(
        path, data={"csrf_token": csrf, "status": "INACTIVE", "confirmation": "on"}, headers=HTML
    )
    assert confirmed.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=statut"
    [call] = services.structures.calls_to("UpdateStructure")
    assert call.request.status == pb.STRUCTURE_STATUS_INACTIVE
    assert not call.request.HasField("raison_sociale") and not call.request.HasField("address")


async def test_status_refused_to_a_secondary_manager_is_shown_beside_the_form(signed_in, services):
    with_detail(services)
    message = "Seul le gestionnaire principal peut activer ou désactiver la structure."
    services.structures.answer(
        "UpdateStructure", PermissionDenied("PRINCIPAL_MANAGER_REQUIRED", message)
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/statut",
        data={"csrf_token": csrf, "status": "INACTIVE", "confirmation": "on"},
        headers=HTML,
    )

    assert response.status_code == 403
    assert f'<p class="field-error" id="status-error">{message}</p>' in response.text


async def test_service_update_sends_name_activity_and_engagement_flag(signed_in, services):
    with_detail(services)
    services.structures.answer(
        "UpdateService", pb.UpdateServiceResponse(service=pb.StructureService())
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/services/{SERVICE_ID}",
        data={"csrf_token": csrf, "target": SERVICE_ID, "name": "Compta générale"},
        headers=HTML,
    )
    enabled = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/services/{SERVICE_ID}",
        data={
            "csrf_token": csrf,
            "name": "Comptabilité",
            "active": "on",
            "engagement_required": "on",
        },
        headers=HTML,
    )

    assert response.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=service-modifie"
    assert enabled.status_code == 303
    renamed, flagged = services.structures.calls_to("UpdateService")
    assert (renamed.request.structure_id, renamed.request.service_id) == (
        STRUCTURE_ID,
        SERVICE_ID,
    )
    assert (renamed.request.name, renamed.request.active) == ("Compta générale", False)
    assert renamed.request.HasField("engagement_required")
    assert not renamed.request.engagement_required
    assert (flagged.request.active, flagged.request.engagement_required) == (True, True)


async def test_service_update_error_is_shown_beside_that_service(signed_in, services):
    with_detail(services)
    message = "Saisissez le nom du service."
    services.structures.answer(
        "UpdateService",
        InvalidArgument("SERVICE_NAME_REQUIRED", message, [FieldViolation("name", message)]),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/services/{SERVICE_ID}",
        data={"csrf_token": csrf, "target": SERVICE_ID, "name": "", "active": "on"},
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="service-1-name-error">{message}</p>' in response.text
    assert 'id="service-form"' in response.text  # the rest of the page is there


async def test_new_forms_refuse_a_forged_csrf_token_without_calling(signed_in, services):
    with_detail(services)
    base = f"/structures/{STRUCTURE_ID}"
    forms = {
        f"{base}/modification": update_form("forged"),
        f"{base}/statut": {"csrf_token": "forged", "status": "INACTIVE", "confirmation": "on"},
        f"{base}/services/{SERVICE_ID}": {"csrf_token": "forged", "name": "X", "active": "on"},
    }

    for path, data in forms.items():
        response = await signed_in.post(path, data=data, headers=HTML)
        assert response.status_code == 403, path
        assert "Rechargez la page" in response.text

    assert services.structures.calls_to("UpdateStructure") == []
    assert services.structures.calls_to("UpdateService") == []


async def test_service_update_of_a_malformed_or_foreign_id_is_the_404_page(signed_in, services):
    with_detail(services)
    csrf = await detail_csrf(signed_in)
    services.structures.answer(
        "UpdateService", PermissionDenied("NOT_A_MEMBER", "Vous n'êtes pas membre.")
    )

    malformed = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/services/pas-un-id",
        data={"csrf_token": csrf, "name": "X"},
        headers=HTML,
    )
    foreign = await signed_in.post(
        f"/structures/{OTHER_ID}/services/{SERVICE_ID}",
        data={"csrf_token": csrf, "name": "X"},
        headers=HTML,
    )

    for response in (malformed, foreign):
        assert response.status_code == 404
        assert "Structure introuvable" in response.text
    [call] = services.structures.calls_to("UpdateService")
    assert call.request.structure_id == OTHER_ID


# Managers: history, and the pending lists' pages


def actions(next_page_token: str = "") -> pb.ListManagerActionsResponse:
    return pb.ListManagerActionsResponse(
        actions=[
            pb.ManagerAction(
                id="a3",
                kind=pb.MANAGER_ACTION_KIND_ROLE_CHANGED,
                actor_user_id=ME,
                target_user_id=BOB,
                details={"previous_role": "UTILISATEUR", "role": "GESTIONNAIRE_SECONDAIRE"},
                at=Timestamp(seconds=1_767_225_600),
            ),
            pb.ManagerAction(
                id="a2",
                kind=pb.MANAGER_ACTION_KIND_STRUCTURE_UPDATED,
                actor_user_id=OTHER_ID,  # no longer a member
                details={"raison_sociale": "Fromagerie Dupont", "status": "INACTIVE"},
            ),
            pb.ManagerAction(
                id="a1",
                kind=pb.MANAGER_ACTION_KIND_SUBSCRIPTION_REFUSED,
                actor_user_id=ME,
                target_user_id=BOB,
                details={"space": "ENGAGEMENTS", "mode": "CONSULTATION", "comment": "Pas besoin."},
            ),
        ],
        next_page_token=next_page_token,
    )


async def test_history_lists_manager_actions_in_french_with_a_next_page(signed_in, services):
    with_detail(services)
    services.structures.answer("ListManagerActions", actions(next_page_token="tok-2"))

    response = await signed_in.get(f"/structures/{STRUCTURE_ID}/historique", headers=HTML)

    page = response.text
    assert response.status_code == 200
    for text in (
        "<h1>Historique des actions des gestionnaires</h1>",
        "01/01/2026 à 01:00",
        "Alice Martin (a@x.fr)",
        "Bob Petit (b@x.fr)",
        "Rôle changé : utilisateur → gestionnaire secondaire",
        "Ancien membre",
        "Structure modifiée (raison sociale : Fromagerie Dupont ; statut : inactive)",
        "Abonnement à l&#39;espace « Engagements » en consultation refusé",
        "Commentaire : Pas besoin.",
    ):
        assert text in page, text
    assert (
        f'<a href="/structures/{STRUCTURE_ID}/historique?page_token=tok-2" rel="next">'
        "Page suivante</a>" in page
    )
    assert "Première page" not in page
    [call] = services.structures.calls_to("ListManagerActions")
    assert (call.request.structure_id, call.request.page_token) == (STRUCTURE_ID, "")
    assert call.request.page_size > 0


async def test_history_next_page_sends_the_token_and_links_back(signed_in, services):
    with_detail(services)
    services.structures.answer("ListManagerActions", pb.ListManagerActionsResponse())

    response = await signed_in.get(
        f"/structures/{STRUCTURE_ID}/historique?page_token=tok-2", headers=HTML
    )

    assert "Il n'y a plus d'actions après la page précédente." in response.text
    assert f'<a href="/structures/{STRUCTURE_ID}/historique">Première page</a>' in response.text
    assert 'rel="next"' not in response.text
    [call] = services.structures.calls_to("ListManagerActions")
    assert call.request.page_token == "tok-2"


async def test_history_refused_to_a_member_and_hidden_from_a_stranger(signed_in, services):
    with_detail(services, role=pb.ROLE_UTILISATEUR)
    message = "Seul un gestionnaire de la structure peut faire cette action."
    services.structures.answer("ListManagerActions", PermissionDenied("MANAGER_REQUIRED", message))
    refused = await signed_in.get(f"/structures/{STRUCTURE_ID}/historique", headers=HTML)
    services.structures.answer(
        "ListManagerActions", PermissionDenied("NOT_A_MEMBER", "Vous n'êtes pas membre.")
    )
    foreign = await signed_in.get(f"/structures/{OTHER_ID}/historique", headers=HTML)
    malformed = await signed_in.get("/structures/pas-un-id/historique", headers=HTML)

    assert refused.status_code == 403 and message in refused.text
    for response in (foreign, malformed):
        assert response.status_code == 404
        assert "Structure introuvable" in response.text
    assert len(services.structures.calls_to("ListManagerActions")) == 2


async def test_pending_lists_link_their_next_pages(signed_in, services):
    with_detail(services)
    s = services.structures
    requests = s.answers["ListAttachmentRequests"]
    requests.next_page_token = "tok-r"
    s.answer("ListAttachmentRequests", requests)
    subscriptions = s.answers["ListSubscriptions"]
    subscriptions.next_page_token = "tok-s"
    s.answer("ListSubscriptions", subscriptions)

    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    base = f"/structures/{STRUCTURE_ID}"
    assert f'<a href="{base}?page_demandes=tok-r#pending-title" rel="next">' in page
    assert f'<a href="{base}?page_abonnements=tok-s#subscriptions-title" rel="next">' in page
    assert "Première page" not in page
    [call] = s.calls_to("ListAttachmentRequests")
    assert call.request.page_token == ""


async def test_a_pending_list_next_page_keeps_the_other_list_page(signed_in, services):
    with_detail(services)
    s = services.structures
    s.answer("ListAttachmentRequests", pb.ListAttachmentRequestsResponse())
    base = f"/structures/{STRUCTURE_ID}"

    page = (
        await signed_in.get(f"{base}?page_demandes=tok-r&page_abonnements=tok-s", headers=HTML)
    ).text

    [requests] = s.calls_to("ListAttachmentRequests")
    [subscriptions] = s.calls_to("ListSubscriptions")
    assert (requests.request.page_token, subscriptions.request.page_token) == ("tok-r", "tok-s")
    assert "Il n'y a plus de demandes après la page précédente." in page
    assert f'<a href="{base}?page_abonnements=tok-s#pending-title">Première page</a>' in page
    assert f'<a href="{base}?page_demandes=tok-r#subscriptions-title">Première page</a>' in page
