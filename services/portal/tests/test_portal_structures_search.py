"""Portal (#13): search results that tell a genuine structure from a look-alike (identifier
type, manager status, the SIRET one first), a SIRET refused under "Autre" shown beside the
identifier, notices that say "acceptée" when a request was accepted at once, the structure
page's tabs with the pending count, and error lists without internal field names."""

from __future__ import annotations

import html
import re

from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_portal.web.field_labels import labelled

from .test_portal import HTML, csrf_of
from .test_portal_structures import (
    OTHER_ID,
    SIRET,
    STRUCTURE_ID,
    create_form,
    detail_csrf,
    list_csrf,
    signed_in,  # noqa: F401 - fixture
    structure,
    with_detail,
    with_list,
)

IMPOSTOR_ID = "66666666-6666-4666-8666-666666666666"


def result_rows(page: str) -> list[list[str]]:
    """The search results' cells, as text."""
    table = page.split('id="search-results"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    rows = []
    for row in body.split("<tr>")[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>|\s+", " ", c)).strip() for c in cells[:5]])
    return rows


async def test_results_show_the_identifier_type_and_the_manager_status_genuine_first(
    signed_in,  # noqa: F811
    services,
):
    with_list(services, memberships=[])
    impostor = structure(IMPOSTOR_ID, "Fromagerie Dupont")
    impostor.identifier_type = pb.IDENTIFIER_TYPE_AUTRE
    genuine = structure(OTHER_ID, "Fromagerie Dupont")
    genuine.has_principal_manager = True
    other = structure(STRUCTURE_ID, "Fromagerie du Lac")
    other.identifier = "11000201100010"
    # The service's order (same name, then id) puts the impostor first.
    services.structures.answer(
        "SearchStructures", pb.SearchStructuresResponse(structures=[impostor, other, genuine])
    )

    page = await signed_in.get("/structures", params={"recherche": "fromagerie"}, headers=HTML)

    assert page.status_code == 200
    assert '<th scope="col">Type d\'identifiant</th>' in page.text
    assert '<th scope="col">Gestionnaire</th>' in page.text
    assert result_rows(page.text) == [
        ["Fromagerie Dupont", SIRET, "SIRET", "oui", "Chambéry"],
        ["Fromagerie Dupont", SIRET, "Autre", "aucun", "Chambéry"],
        ["Fromagerie du Lac", "11000201100010", "SIRET", "aucun", "Chambéry"],
    ]


async def test_a_managed_result_offers_to_write_to_its_managers(signed_in, services):  # noqa: F811
    with_list(services, memberships=[])
    managed = structure(OTHER_ID, "Fromagerie Dupont")
    managed.has_principal_manager = True
    unmanaged = structure(IMPOSTOR_ID, "Fromagerie sans gestionnaire")
    services.structures.answer(
        "SearchStructures", pb.SearchStructuresResponse(structures=[managed, unmanaged])
    )

    page = await signed_in.get("/structures", params={"recherche": "fromagerie"}, headers=HTML)

    assert page.status_code == 200
    links = re.findall(r'href="/sollicitations/nouvelle\?structure=([^"]+)"', page.text)
    assert links == [OTHER_ID]  # a structure nobody manages has no one to answer


async def test_a_siret_under_autre_is_refused_beside_the_identifier_and_nothing_is_created(
    signed_in,  # noqa: F811
    services,
):
    with_list(services)
    message = (
        "Cet identifiant a la forme d'un SIRET ou d'un SIREN : une structure établie en France "
        "s'identifie par son SIRET. Choisissez le type d'identifiant SIRET et saisissez les 14 "
        "chiffres du SIRET."
    )
    services.structures.answer(
        "CreateStructure",
        InvalidArgument(
            "IDENTIFIER_SIRENE_SHAPED", message, [FieldViolation("identifier", message)]
        ),
    )
    csrf = await list_csrf(signed_in)

    response = await signed_in.post(
        "/structures", data=create_form(csrf, identifier_type="AUTRE"), headers=HTML
    )

    assert response.status_code == 422
    escaped = message.replace("'", "&#39;")
    assert f'<p class="field-error" id="identifier-error">{escaped}</p>' in response.text
    # The form keeps what was typed, type included, to be corrected.
    assert '<option value="AUTRE" selected>' in response.text
    [call] = services.structures.calls_to("CreateStructure")
    assert call.request.identifier_type == pb.IDENTIFIER_TYPE_AUTRE


async def test_a_request_accepted_at_once_says_so_and_opens_the_structure(
    signed_in,  # noqa: F811
    services,
):
    with_list(services)
    services.structures.answer(
        "RequestAttachment",
        pb.RequestAttachmentResponse(
            request=pb.AttachmentRequest(
                status=pb.ATTACHMENT_REQUEST_STATUS_VALIDEE,
                granted_role=pb.ROLE_GESTIONNAIRE_PRINCIPAL,
            )
        ),
    )
    csrf = await list_csrf(signed_in)

    asked = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/rattachement", data={"csrf_token": csrf}, headers=HTML
    )

    assert asked.status_code == 303
    assert asked.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=rattache-principal"
    with_detail(services)
    shown = await signed_in.get(asked.headers["location"], headers=HTML)
    assert "Demande de rattachement acceptée : vous êtes rattaché" in shown.text
    assert "envoyée" not in shown.text


async def test_a_request_accepted_at_once_as_a_user_and_one_that_waits(
    signed_in,  # noqa: F811
    services,
):
    with_list(services)
    services.structures.answer(
        "RequestAttachment",
        pb.RequestAttachmentResponse(
            request=pb.AttachmentRequest(
                status=pb.ATTACHMENT_REQUEST_STATUS_VALIDEE, granted_role=pb.ROLE_UTILISATEUR
            )
        ),
    )
    csrf = await list_csrf(signed_in)
    accepted = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/rattachement", data={"csrf_token": csrf}, headers=HTML
    )
    services.structures.answer(
        "RequestAttachment",
        pb.RequestAttachmentResponse(
            request=pb.AttachmentRequest(status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION)
        ),
    )
    waiting = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/rattachement", data={"csrf_token": csrf}, headers=HTML
    )

    assert accepted.headers["location"] == f"/structures/{STRUCTURE_ID}?avis=rattache-direct"
    assert waiting.headers["location"] == "/structures?avis=demande"
    listed = await signed_in.get(waiting.headers["location"], headers=HTML)
    assert "Demande de rattachement envoyée : un gestionnaire" in listed.text


async def test_a_subscription_validated_at_once_says_accepted(signed_in, services):  # noqa: F811
    with_detail(services, role=pb.ROLE_UTILISATEUR)
    services.structures.answer(
        "RequestSubscription",
        pb.RequestSubscriptionResponse(
            subscription=pb.Subscription(status=pb.SUBSCRIPTION_STATUS_VALIDEE)
        ),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/structures/{STRUCTURE_ID}/espaces/FACTURES_EMISES/abonnement",
        data={"csrf_token": csrf, "mode": "MODIFICATION"},
        headers=HTML,
    )

    location = response.headers["location"]
    assert location == f"/structures/{STRUCTURE_ID}?avis=abonnement-accepte"
    shown = await signed_in.get(location, headers=HTML)
    assert "Abonnement accepté : vous avez accès à l&#39;espace." in shown.text


async def test_the_structure_page_has_tabs_with_the_pending_count_first(
    signed_in,  # noqa: F811
    services,
):
    with_detail(services)

    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    nav = page.split('<nav class="structure-tabs"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    assert links == [
        ("#informations", "Informations"),
        ("#demandes", "Demandes en attente (2)"),
        ("#membres", "Membres (2)"),
        ("#services", "Services (1)"),
        ("#espaces", "Espaces"),
        ("#modifier", "Modifier"),
        (f"/structures/{STRUCTURE_ID}/historique", "Historique"),
        ("#quitter", "Quitter"),
    ]
    for anchor in ("informations", "demandes", "membres", "services", "espaces", "modifier"):
        assert f'<section id="{anchor}"' in page
    # The pending requests come right after the structure's details, before the long forms.
    assert page.index('id="demandes"') < page.index('id="membres"') < page.index('id="modifier"')
    assert page.index('id="pending-requests"') < page.index('id="update-form"')


async def test_a_simple_member_has_no_pending_tab(signed_in, services):  # noqa: F811
    with_detail(services, role=pb.ROLE_UTILISATEUR)

    page = (await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)).text

    assert 'href="#membres"' in page
    assert 'href="#demandes"' not in page and 'id="demandes"' not in page
    assert "/historique" not in page


def test_error_lists_never_show_an_internal_field_name_nor_repeat_a_label():
    assert (
        labelled("issued_from", "Dates d'émission : le début est après la fin.")
        == "Émise depuis le : Dates d'émission : le début est après la fin."
    )
    assert labelled("first_name", "Prénom obligatoire.") == "Prénom obligatoire."
    assert labelled("raison_sociale", "La raison sociale est obligatoire.") == (
        "La raison sociale est obligatoire."
    )
    assert labelled("address.city", "Indiquez la ville.") == "Indiquez la ville."
    assert labelled("postal_code", "5 chiffres.") == "Code postal : 5 chiffres."
    assert labelled("some_internal_field", "Valeur refusée.") == "Valeur refusée."


async def test_the_registration_summary_does_not_repeat_the_field_label(api, services):
    services.identity.answer(
        "RegisterAccount",
        InvalidArgument(
            "FIELD_REQUIRED",
            "Prénom obligatoire.",
            [
                FieldViolation("first_name", "Prénom obligatoire."),
                FieldViolation("phone", "Numéro invalide."),
                FieldViolation("internal_thing", "Refusé."),
            ],
        ),
    )
    page = await api.get("/inscription", headers=HTML)

    response = await api.post(
        "/inscription",
        data={"csrf_token": csrf_of(page.text), "login_email": "a@b.fr", "terms_accepted": "on"},
        headers=HTML,
    )

    summary = response.text.split('class="notice notice-error"', 1)[1].split("</div>", 1)[0]
    items = [
        " ".join(re.sub(r"<[^>]+>", " ", item).split())
        for item in re.findall(r"<li>(.*?)</li>", summary, re.S)
    ]
    assert items == ["Prénom obligatoire.", "Téléphone : Numéro invalide.", "Refusé."]
