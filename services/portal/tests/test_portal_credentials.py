"""Portal pages of the Chorus Pro-compatible API's credentials against service doubles:
"Mon compte › Applications API" and a structure's "Comptes techniques" — the secret or
password shown once on the answer page only, never in a list; revocation needs its box
ticked; refusals shown in French; the connection URLs from CHORUS_PORTAL_URL."""

from __future__ import annotations

import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import FieldViolation, InvalidArgument, PermissionDenied
from google.protobuf.timestamp_pb2 import Timestamp

from .test_portal import HTML, csrf_of
from .test_portal_account import with_account
from .test_portal_structures import with_detail

STRUCTURE_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
APP_ID = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
ACCOUNT_ID = "5a1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
SECRET = "s3cr3t-sh0wn-0nce-bbbbbbbbbbbbbbbbbbbbbbbbbbb"
PASSWORD = "Tq7mZp2XwR9kLs4VbN8cJd3F"
CREATED = Timestamp(seconds=1_796_000_000)


def application(**changes) -> pb.ApiClient:
    fields = {
        "id": APP_ID,
        "client_id": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "name": "ERP comptable",
        "created_at": CREATED,
    }
    return pb.ApiClient(**{**fields, **changes})


def account(**changes) -> pb.TechnicalAccount:
    fields = {
        "id": ACCOUNT_ID,
        "structure_id": STRUCTURE_ID,
        "login": "TECH_12@cpro.chorus.local",
        "status": pb.TECHNICAL_ACCOUNT_STATUS_ACTIF,
        "created_at": CREATED,
        "expires_at": Timestamp(seconds=1_827_536_000),
    }
    return pb.TechnicalAccount(**{**fields, **changes})


@pytest.fixture
def signed_in(api):
    api.cookies.set("chorus_session", "acc-1")
    return api


async def csrf_from(client, path: str) -> str:
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


# --- Mon compte › Applications API ---------------------------------------------------------


async def test_the_applications_page_lists_them_and_says_how_to_connect(signed_in, services):
    services.identity.answer(
        "ListApiClients",
        pb.ListApiClientsResponse(
            clients=[application(), application(id="old", name="Vieux", revoked_at=CREATED)]
        ),
    )

    page = await signed_in.get("/mon-compte/applications-api", headers=HTML)

    assert page.status_code == 200
    for text in (
        "<h1>Applications API</h1>",
        "ERP comptable",
        "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "http://127.0.0.1:8080/api/oauth/token",
        "http://127.0.0.1:8080/cpro",
        "cpro-account",
        f'action="/mon-compte/applications-api/{APP_ID}/revocation"',
        "Révoquée le",
    ):
        assert text in page.text, text
    assert 'action="/mon-compte/applications-api/old/revocation"' not in page.text
    assert services.identity.calls[0].metadata["authorization"] == "Bearer acc-1"


async def test_the_account_page_links_to_the_applications(signed_in, services):
    with_account(services)
    page = await signed_in.get("/mon-compte", headers=HTML)
    assert 'href="/mon-compte/applications-api"' in page.text


async def test_creating_shows_the_secret_once(signed_in, services):
    services.identity.answer("ListApiClients", pb.ListApiClientsResponse(clients=[application()]))
    services.identity.answer(
        "CreateApiClient", pb.CreateApiClientResponse(client=application(), client_secret=SECRET)
    )
    token = await csrf_from(signed_in, "/mon-compte/applications-api")

    created = await signed_in.post(
        "/mon-compte/applications-api", data={"csrf_token": token, "name": "ERP comptable"}
    )
    again = await signed_in.get("/mon-compte/applications-api", headers=HTML)

    assert created.status_code == 201
    assert SECRET in created.text and "il ne sera plus" in created.text
    assert created.headers["cache-control"] == "no-store"
    [call] = services.identity.calls_to("CreateApiClient")
    assert call.request.name == "ERP comptable"
    assert SECRET not in again.text


async def test_a_refused_creation_keeps_the_name_and_says_why(signed_in, services):
    services.identity.answer("ListApiClients", pb.ListApiClientsResponse())
    services.identity.answer(
        "CreateApiClient",
        InvalidArgument(
            "API_CLIENT_NAME_TOO_LONG",
            "Le nom de l'application compte 100 caractères au plus.",
            [FieldViolation("name", "100 caractères au plus.")],
        ),
    )
    token = await csrf_from(signed_in, "/mon-compte/applications-api")

    refused = await signed_in.post(
        "/mon-compte/applications-api", data={"csrf_token": token, "name": "Très <long> nom"}
    )
    forged = await signed_in.post(
        "/mon-compte/applications-api", data={"csrf_token": "faux", "name": "x"}
    )

    assert refused.status_code == 422
    assert "100 caractères au plus" in refused.text
    assert 'value="Très &lt;long&gt; nom"' in refused.text
    assert forged.status_code == 403 and len(services.identity.calls_to("CreateApiClient")) == 1


async def test_revoking_needs_the_box_ticked(signed_in, services):
    services.identity.answer("ListApiClients", pb.ListApiClientsResponse(clients=[application()]))
    services.identity.answer(
        "RevokeApiClient", pb.RevokeApiClientResponse(client=application(revoked_at=CREATED))
    )
    token = await csrf_from(signed_in, "/mon-compte/applications-api")
    path = f"/mon-compte/applications-api/{APP_ID}/revocation"

    unconfirmed = await signed_in.post(path, data={"csrf_token": token})
    confirmed = await signed_in.post(path, data={"csrf_token": token, "confirm": "on"})
    notice = await signed_in.get(confirmed.headers["location"], headers=HTML)

    assert unconfirmed.status_code == 422 and "Cochez la case" in unconfirmed.text
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/mon-compte/applications-api?avis=revoquee"
    [call] = services.identity.calls_to("RevokeApiClient")
    assert call.request.id == APP_ID
    assert "Application révoquée" in notice.text


async def test_signed_out_goes_to_the_login_page(api, services):
    response = await api.get("/mon-compte/applications-api", headers=HTML)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    assert services.identity.calls == []


# --- a structure's technical accounts --------------------------------------------------------


def with_structure(services) -> None:
    services.structures.answer(
        "GetStructure",
        spb.GetStructureResponse(
            structure=spb.Structure(id=STRUCTURE_ID, raison_sociale="Scierie du Jura")
        ),
    )


PAGE = f"/structures/{STRUCTURE_ID}/comptes-techniques"


async def test_the_managers_page_lists_accounts_with_expiry_and_how_to_connect(signed_in, services):
    with_structure(services)
    services.identity.answer(
        "ListTechnicalAccounts",
        pb.ListTechnicalAccountsResponse(
            accounts=[
                account(),
                account(id="gone", login="TECH_3@cpro.chorus.local", status=3, revoked_at=CREATED),
            ]
        ),
    )

    page = await signed_in.get(PAGE, headers=HTML)

    assert page.status_code == 200
    for text in (
        "<h1>Comptes techniques</h1>",
        "Scierie du Jura",
        "TECH_12@cpro.chorus.local",
        "Actif",
        "Révoqué le",
        "http://127.0.0.1:8080/api/oauth/token",
        'href="/mon-compte/applications-api"',
        f'action="{PAGE}/{ACCOUNT_ID}/renouvellement"',
        f'action="{PAGE}/{ACCOUNT_ID}/revocation"',
    ):
        assert text in page.text, text
    assert f'action="{PAGE}/gone/renouvellement"' not in page.text
    [call] = services.identity.calls_to("ListTechnicalAccounts")
    assert call.request.structure_id == STRUCTURE_ID


async def test_a_simple_member_is_told_it_is_for_managers(signed_in, services):
    with_structure(services)
    services.identity.answer(
        "ListTechnicalAccounts",
        PermissionDenied("MANAGER_REQUIRED", "Seuls les gestionnaires de la structure."),
    )

    page = await signed_in.get(PAGE, headers=HTML)
    unknown = await signed_in.get("/structures/pas-un-id/comptes-techniques", headers=HTML)

    assert page.status_code == 403 and "Seuls les gestionnaires" in page.text
    assert unknown.status_code == 404


async def test_activating_and_renewing_show_the_password_once(signed_in, services):
    with_structure(services)
    services.identity.answer(
        "ListTechnicalAccounts", pb.ListTechnicalAccountsResponse(accounts=[account()])
    )
    services.identity.answer(
        "CreateTechnicalAccount",
        pb.CreateTechnicalAccountResponse(account=account(), password=PASSWORD),
    )
    services.identity.answer(
        "RotateTechnicalAccountPassword",
        pb.RotateTechnicalAccountPasswordResponse(account=account(), password=PASSWORD[::-1]),
    )
    token = await csrf_from(signed_in, PAGE)

    activated = await signed_in.post(PAGE, data={"csrf_token": token})
    renewed = await signed_in.post(
        f"{PAGE}/{ACCOUNT_ID}/renouvellement", data={"csrf_token": token}
    )
    listed = await signed_in.get(PAGE, headers=HTML)

    assert activated.status_code == 201
    assert "Compte technique activé" in activated.text and PASSWORD in activated.text
    assert renewed.status_code == 200
    assert "Nouveau mot de passe" in renewed.text and PASSWORD[::-1] in renewed.text
    assert "L'ancien ne fonctionne plus" in renewed.text
    assert PASSWORD not in listed.text and PASSWORD[::-1] not in listed.text
    [rotate] = services.identity.calls_to("RotateTechnicalAccountPassword")
    assert (rotate.request.id, rotate.request.structure_id) == (ACCOUNT_ID, STRUCTURE_ID)


async def test_revoking_an_account_needs_the_box_ticked(signed_in, services):
    with_structure(services)
    services.identity.answer(
        "ListTechnicalAccounts", pb.ListTechnicalAccountsResponse(accounts=[account()])
    )
    services.identity.answer(
        "RevokeTechnicalAccount", pb.RevokeTechnicalAccountResponse(account=account())
    )
    token = await csrf_from(signed_in, PAGE)

    unconfirmed = await signed_in.post(
        f"{PAGE}/{ACCOUNT_ID}/revocation", data={"csrf_token": token}
    )
    forged = await signed_in.post(
        f"{PAGE}/{ACCOUNT_ID}/revocation", data={"csrf_token": "x", "confirm": "on"}
    )
    confirmed = await signed_in.post(
        f"{PAGE}/{ACCOUNT_ID}/revocation", data={"csrf_token": token, "confirm": "on"}
    )

    assert unconfirmed.status_code == 422 and "Cochez la case" in unconfirmed.text
    assert forged.status_code == 403
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"{PAGE}?avis=revoque"
    assert len(services.identity.calls_to("RevokeTechnicalAccount")) == 1


async def test_the_structure_page_links_managers_to_the_technical_accounts(signed_in, services):
    with_detail(services, role=spb.ROLE_GESTIONNAIRE_SECONDAIRE)
    manager = await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)
    with_detail(services, role=spb.ROLE_UTILISATEUR)
    member = await signed_in.get(f"/structures/{STRUCTURE_ID}", headers=HTML)

    assert manager.status_code == member.status_code == 200
    assert f'href="{PAGE}"' in manager.text
    assert f'href="{PAGE}"' not in member.text
