"""Portal home (#13): the dashboard of what waits on the user, the event feed page, and deep
links that survive the login (and its second factor), open redirects refused."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import quote

import pytest
from chorus.identity.v1 import identity_service_pb2 as idpb
from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus.notifications.v1 import notifications_service_pb2 as npb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import NotFound, Unauthenticated
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_portal.web.session import login_url, safe_next

from .test_portal import HTML, csrf_of

MINE = str(uuid.uuid4())
MANAGED = str(uuid.uuid4())
FOREIGN = str(uuid.uuid4())
ITEM = str(uuid.uuid4())


def hidden_next(page: str) -> str | None:
    match = re.search(r'name="suivant" value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def tokens() -> idpb.TokenPair:
    return idpb.TokenPair(access_token="acc-1", refresh_token="ref-1", expires_in=900)


@pytest.fixture
def signed_in(api):
    api.cookies.set("chorus_session", "acc-1")
    return api


# Deep links through the login


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/factures", "/connexion?suivant=%2Ffactures"),
        (
            "/factures?side=received&status=SUSPENDUE",
            "/connexion?suivant=%2Ffactures%3Fside%3Dreceived%26status%3DSUSPENDUE",
        ),
        (f"/factures/{ITEM}", f"/connexion?suivant=%2Ffactures%2F{ITEM}"),
        ("/evenements", "/connexion?suivant=%2Fevenements"),
        ("/structures", "/connexion?suivant=%2Fstructures"),
    ],
)
async def test_a_signed_out_browser_is_sent_to_the_login_with_the_page_to_return_to(
    api, path, location
):
    response = await api.get(path, headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == location


async def test_a_form_posted_signed_out_goes_to_the_plain_login(api):
    response = await api.post("/evenements/tout-lu", data={"csrf_token": "x"}, headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"


async def test_login_returns_to_the_page_asked_for(api, services):
    services.identity.answer("CreateSession", idpb.CreateSessionResponse(tokens=tokens()))
    target = f"/factures/{ITEM}?onglet=historique"
    page = await api.get("/connexion", params={"suivant": target}, headers=HTML)
    assert hidden_next(page.text) == target
    assert "Connectez-vous pour accéder à la page demandée." in page.text

    response = await api.post(
        "/connexion",
        data={
            "csrf_token": csrf_of(page.text),
            "login_email": "marie@example.fr",
            "password": "pw",
            "suivant": target,
        },
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == target


async def test_a_refused_login_keeps_the_page_to_return_to(api, services):
    services.identity.answer(
        "CreateSession",
        Unauthenticated("INVALID_CREDENTIALS", "Adresse ou mot de passe incorrect."),
    )
    page = await api.get("/connexion", params={"suivant": "/evenements"}, headers=HTML)

    refused = await api.post(
        "/connexion",
        data={
            "csrf_token": csrf_of(page.text),
            "login_email": "marie@example.fr",
            "password": "faux",
            "suivant": "/evenements",
        },
        headers=HTML,
    )

    assert refused.status_code == 401
    assert "Adresse ou mot de passe incorrect." in refused.text
    assert hidden_next(refused.text) == "/evenements"


async def test_the_second_factor_carries_the_page_to_return_to(api, services):
    services.identity.answer(
        "CreateSession", idpb.CreateSessionResponse(mfa_required=True, mfa_challenge_id="ch-9")
    )
    services.identity.answer(
        "CompleteMfaChallenge", idpb.CompleteMfaChallengeResponse(tokens=tokens())
    )
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)
    asked = await api.post(
        "/connexion",
        data={
            "csrf_token": csrf,
            "login_email": "marie@example.fr",
            "password": "pw",
            "suivant": "/structures",
        },
        headers=HTML,
    )
    assert hidden_next(asked.text) == "/structures"

    done = await api.post(
        "/connexion/code",
        data={
            "csrf_token": csrf,
            "challenge_id": "ch-9",
            "code": "123456",
            "suivant": hidden_next(asked.text),
        },
        headers=HTML,
    )

    assert done.status_code == 303
    assert done.headers["location"] == "/structures"


OPEN_REDIRECTS = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "\\\\evil.example/",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/factures\r\nSet-Cookie: x=1",
    " /factures",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize(
    "target",
    [
        "/factures",
        f"/factures/{ITEM}",
        "/factures?side=received&status=SUSPENDUE&structure_id=x",
        "/structures/abc#pending-title",
        "/.//evil.example",  # a path of this site, however odd
        "/" + "a" * 2047,
    ],
)
def test_same_site_paths_are_kept_as_return_addresses(target):
    assert safe_next(target) == target
    assert login_url(target).startswith("/connexion?suivant=%2F")


@pytest.mark.parametrize("target", [*OPEN_REDIRECTS, "", None, "/", "%2F%2Fevil.example"])
def test_anything_else_is_no_return_address(target):
    assert safe_next(target) == "/"
    assert login_url(target) == "/connexion"


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
async def test_a_return_address_off_the_site_leads_home(api, services, target):
    services.identity.answer("CreateSession", idpb.CreateSessionResponse(tokens=tokens()))
    page = await api.get("/connexion", params={"suivant": target}, headers=HTML)
    assert hidden_next(page.text) is None

    response = await api.post(
        "/connexion",
        data={
            "csrf_token": csrf_of(page.text),
            "login_email": "marie@example.fr",
            "password": "pw",
            "suivant": target,
        },
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("target", OPEN_REDIRECTS[:6])
async def test_the_second_factor_refuses_a_return_address_off_the_site(api, services, target):
    services.identity.answer(
        "CompleteMfaChallenge", idpb.CompleteMfaChallengeResponse(tokens=tokens())
    )
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)

    done = await api.post(
        "/connexion/code",
        data={"csrf_token": csrf, "challenge_id": "ch-9", "code": "123456", "suivant": target},
        headers=HTML,
    )

    assert done.headers["location"] == "/"


async def test_an_expired_session_on_a_page_returns_there_after_login(signed_in, services):
    services.notifications.answer("ListFeed", Unauthenticated("TOKEN_EXPIRED", "Session expirée."))

    response = await signed_in.get("/evenements", params={"page_token": "abc"}, headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=" + quote(
        "/evenements?page_token=abc", safe=""
    )


# The dashboard


def membership(structure_id: str, name: str, role: int) -> spb.Membership:
    return spb.Membership(structure=spb.Structure(id=structure_id, raison_sociale=name), role=role)


def counted(status: int, count: int, waiting: bool) -> ipb.InvoiceStatusCount:
    return ipb.InvoiceStatusCount(status=status, count=count, waiting=waiting)


def feed_item(n: int, *, read: bool = False, link: str = "") -> npb.FeedItem:
    at = Timestamp()
    at.FromJsonString("2026-11-27T15:05:00Z")
    return npb.FeedItem(
        id=str(uuid.UUID(int=n)),
        kind="INVOICE_RECEIVED",
        title=f"Facture F-{n} reçue",
        body="Une facture vous est adressée.",
        link=link or f"/factures/{uuid.UUID(int=n)}",
        created_at=at,
        read=read,
    )


def with_me(services) -> None:
    services.identity.answer(
        "GetMe",
        idpb.GetMeResponse(
            user=idpb.User(id="u1", first_name="Marie", last_name="Curie", login_email="m@x.fr")
        ),
    )


def with_dashboard(services) -> None:
    with_me(services)
    services.structures.answer(
        "ListMyMemberships",
        spb.ListMyMembershipsResponse(
            memberships=[
                membership(MANAGED, "Commune de Villebois", spb.ROLE_GESTIONNAIRE_PRINCIPAL),
                membership(MINE, "Menuiserie Dupont SARL", spb.ROLE_UTILISATEUR),
            ]
        ),
    )
    services.structures.answer(
        "SummarizePendingRequests",
        spb.SummarizePendingRequestsResponse(
            structures=[
                spb.PendingRequestsSummary(
                    structure_id=MANAGED, attachment_requests=2, subscriptions=1
                )
            ]
        ),
    )
    services.invoices.answer(
        "SummarizeInvoices",
        ipb.SummarizeInvoicesResponse(
            summaries=[
                ipb.InvoiceSummary(
                    structure_id=MINE,
                    side=ipb.LIST_SIDE_ISSUED,
                    statuses=[
                        counted(ipb.INVOICE_STATUS_MISE_A_DISPOSITION, 4, False),
                        counted(ipb.INVOICE_STATUS_SUSPENDUE, 1, True),
                        counted(ipb.INVOICE_STATUS_A_RECYCLER, 2, True),
                        counted(ipb.INVOICE_STATUS_REJETEE, 3, False),
                    ],
                    rejections_to_acknowledge=1,
                ),
                ipb.InvoiceSummary(
                    structure_id=MANAGED,
                    side=ipb.LIST_SIDE_RECEIVED,
                    statuses=[
                        counted(ipb.INVOICE_STATUS_MISE_A_DISPOSITION, 5, True),
                        counted(ipb.INVOICE_STATUS_SUSPENDUE, 1, False),
                    ],
                ),
                # Not one of the user's memberships (never answered): not shown.
                ipb.InvoiceSummary(
                    structure_id=FOREIGN,
                    side=ipb.LIST_SIDE_RECEIVED,
                    statuses=[counted(ipb.INVOICE_STATUS_MISE_A_DISPOSITION, 9, True)],
                ),
            ]
        ),
    )
    services.notifications.answer(
        "ListFeed", npb.ListFeedResponse(items=[feed_item(1), feed_item(2, read=True)])
    )
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=7)
    )


def tasks_of(page: str) -> list[tuple[str, str, str]]:
    """(link, count, label) of each line of the dashboard."""
    return [
        (html.unescape(href), count, html.unescape(label).strip())
        for href, count, label in re.findall(
            r'<li><a href="([^"]+)"><span class="task-count">(\d+)</span>([^<]+)</a></li>', page
        )
    ]


async def test_the_dashboard_shows_what_waits_per_structure_with_links(signed_in, services):
    with_dashboard(services)

    page = await signed_in.get("/", headers=HTML)

    assert page.status_code == 200
    assert "Bonjour Marie Curie" in page.text
    received = f"/factures?side=received&status=MISE_A_DISPOSITION&structure_id={MANAGED}"
    issued = f"/factures?side=issued&status={{}}&structure_id={MINE}"
    assert tasks_of(page.text) == [
        (f"/structures/{MANAGED}#pending-title", "2", "Demandes de rattachement à examiner"),
        (
            f"/structures/{MANAGED}#subscriptions-title",
            "1",
            "Demande d'abonnement à un espace à examiner",
        ),
        (received, "5", "Factures reçues à traiter — Mise à disposition"),
        (issued.format("SUSPENDUE"), "1", "Facture suspendue à compléter"),
        (issued.format("A_RECYCLER"), "2", "Factures à recycler"),
        (issued.format("REJETEE") + "&rejet=a-prendre-en-compte", "1", "Rejet à prendre en compte"),
    ]
    assert FOREIGN not in page.text
    assert "7 événements non lus" in page.text
    assert "Facture F-1 reçue" in page.text and "Facture F-2 reçue" in page.text
    assert "fil d'événements est disponible par" not in page.text
    for service, method in [
        (services.structures, "SummarizePendingRequests"),
        (services.invoices, "SummarizeInvoices"),
        (services.notifications, "ListFeed"),
    ]:
        assert service.calls_to(method)[0].metadata["authorization"] == "Bearer acc-1"
    assert services.notifications.calls_to("ListFeed")[0].request.page_size == 5


async def test_a_user_without_structure_is_told_what_to_do(signed_in, services):
    with_me(services)
    services.structures.answer("ListMyMemberships", spb.ListMyMembershipsResponse())
    services.structures.answer("SummarizePendingRequests", spb.SummarizePendingRequestsResponse())
    services.invoices.answer("SummarizeInvoices", ipb.SummarizeInvoicesResponse())
    services.notifications.answer("ListFeed", npb.ListFeedResponse())
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=0)
    )

    page = await signed_in.get("/", headers=HTML)

    assert "Vous n'êtes rattaché à aucune structure" in page.text
    assert 'href="/structures">créez votre structure ou demandez à rejoindre' in page.text
    assert "Aucun événement pour l'instant." in page.text


async def test_a_member_without_invoices_is_invited_to_deposit_one(signed_in, services):
    with_me(services)
    services.structures.answer(
        "ListMyMemberships",
        spb.ListMyMembershipsResponse(
            memberships=[membership(MINE, "Menuiserie Dupont SARL", spb.ROLE_UTILISATEUR)]
        ),
    )
    services.structures.answer("SummarizePendingRequests", spb.SummarizePendingRequestsResponse())
    services.invoices.answer("SummarizeInvoices", ipb.SummarizeInvoicesResponse())
    services.notifications.answer("ListFeed", npb.ListFeedResponse())
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=0)
    )

    page = await signed_in.get("/", headers=HTML)

    assert "Rien ne vous attend pour cette structure." in page.text
    assert 'href="/factures/nouvelle">déposez votre première facture' in page.text


async def test_a_service_that_cannot_answer_leaves_the_rest_of_the_dashboard(signed_in, services):
    with_dashboard(services)
    services.invoices.reset()  # invoices answers nothing (UNIMPLEMENTED)
    services.notifications.reset()

    page = await signed_in.get("/", headers=HTML)

    assert page.status_code == 200
    assert "Une partie des compteurs est indisponible pour le moment" in page.text
    assert [t[2] for t in tasks_of(page.text)] == [
        "Demandes de rattachement à examiner",
        "Demande d'abonnement à un espace à examiner",
    ]
    assert "Le fil d'événements est indisponible pour le moment." in page.text
    assert "déposez votre première facture" not in page.text


async def test_an_expired_session_shows_the_public_home(signed_in, services):
    with_dashboard(services)
    services.invoices.answer("SummarizeInvoices", Unauthenticated("TOKEN_EXPIRED", "Expirée."))

    page = await signed_in.get("/", headers=HTML)

    assert page.status_code == 200
    assert "Créer un compte" in page.text and "Bonjour" not in page.text


async def test_the_invoice_list_narrows_to_the_structure_of_a_dashboard_link(signed_in, services):
    services.invoices.answer("ListInvoices", ipb.ListInvoicesResponse())

    await signed_in.get(
        "/factures",
        params={"side": "received", "status": "MISE_A_DISPOSITION", "structure_id": MANAGED},
        headers=HTML,
    )
    await signed_in.get("/factures", params={"structure_id": "pas-un-id"}, headers=HTML)

    first, malformed = services.invoices.calls_to("ListInvoices")
    assert first.request.structure_id == MANAGED
    assert first.request.side == ipb.LIST_SIDE_RECEIVED
    assert first.request.status == ipb.INVOICE_STATUS_MISE_A_DISPOSITION
    assert malformed.request.structure_id == ""


async def test_the_rejections_link_lists_only_those_not_yet_acknowledged(signed_in, services):
    services.invoices.answer("ListInvoices", ipb.ListInvoicesResponse())
    query = {"side": "issued", "status": "REJETEE", "structure_id": MINE}

    page = await signed_in.get(
        "/factures", params={**query, "rejet": "a-prendre-en-compte"}, headers=HTML
    )
    await signed_in.get("/factures", params=query, headers=HTML)
    await signed_in.get("/factures", params={**query, "rejet": "n-importe"}, headers=HTML)

    narrowed, every, ignored = services.invoices.calls_to("ListInvoices")
    assert narrowed.request.HasField("rejection_acknowledged")
    assert narrowed.request.rejection_acknowledged is False
    assert not every.request.HasField("rejection_acknowledged")
    assert not ignored.request.HasField("rejection_acknowledged")
    # The filter travels with the form (and so with paging and the exports' links).
    assert 'name="rejet" value="a-prendre-en-compte"' in page.text


# The event feed page


async def test_the_feed_page_shows_items_unread_first_marked_with_paging(signed_in, services):
    services.notifications.answer(
        "ListFeed",
        npb.ListFeedResponse(
            items=[feed_item(1), feed_item(2, read=True), feed_item(3, link="//evil.example/")],
            next_page_token="tok-2",
        ),
    )
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=2)
    )

    page = await signed_in.get("/evenements", headers=HTML)

    assert page.status_code == 200
    assert "2 événements non lus." in page.text
    assert page.text.count('<span class="badge">Non lu</span>') == 2
    assert f'href="/factures/{uuid.UUID(int=1)}"' in page.text
    assert "evil.example" not in page.text  # a link off the site is not followed
    assert f'action="/evenements/{uuid.UUID(int=1)}/lu"' in page.text
    assert f'action="/evenements/{uuid.UUID(int=2)}/lu"' not in page.text  # already read
    assert 'href="/evenements?page_token=tok-2" rel="next"' in page.text
    assert "27/11/2026 à 16:05" in page.text

    await signed_in.get("/evenements", params={"page_token": "tok-2"}, headers=HTML)
    assert services.notifications.calls_to("ListFeed")[1].request.page_token == "tok-2"


async def test_marking_an_item_read_returns_to_the_same_page(signed_in, services):
    services.notifications.answer("ListFeed", npb.ListFeedResponse(items=[feed_item(1)]))
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=1)
    )
    services.notifications.answer("MarkFeedItemRead", npb.MarkFeedItemReadResponse())
    csrf = csrf_of((await signed_in.get("/evenements", headers=HTML)).text)

    response = await signed_in.post(
        f"/evenements/{ITEM}/lu", data={"csrf_token": csrf, "page_token": "tok-2"}, headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/evenements?page_token=tok-2&avis=lu"
    [call] = services.notifications.calls_to("MarkFeedItemRead")
    assert call.request.item_id == ITEM
    notice = await signed_in.get(response.headers["location"], headers=HTML)
    assert "L'événement est marqué comme lu." in html.unescape(notice.text)


async def test_marking_all_read(signed_in, services):
    services.notifications.answer("ListFeed", npb.ListFeedResponse(items=[feed_item(1)]))
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=1)
    )
    services.notifications.answer(
        "MarkAllFeedItemsRead", npb.MarkAllFeedItemsReadResponse(marked=1)
    )
    page = await signed_in.get("/evenements", headers=HTML)
    assert 'action="/evenements/tout-lu"' in page.text

    response = await signed_in.post(
        "/evenements/tout-lu", data={"csrf_token": csrf_of(page.text)}, headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/evenements?avis=tout-lu"
    assert len(services.notifications.calls_to("MarkAllFeedItemsRead")) == 1


@pytest.mark.parametrize(
    ("item_id", "csrf_ok", "answer", "status", "message"),
    [
        (ITEM, False, None, 403, "Votre formulaire a expiré"),
        ("pas-un-id", True, None, 404, "Cet événement n'existe pas ou ne vous concerne pas"),
        (
            ITEM,
            True,
            NotFound("FEED_ITEM_NOT_FOUND", "Introuvable."),
            404,
            "Cet événement n'existe pas ou ne vous concerne pas",
        ),
    ],
    ids=["csrf", "malformed", "someone-elses"],
)
async def test_a_refused_mark_changes_nothing_and_says_why(
    signed_in, services, item_id, csrf_ok, answer, status, message
):
    services.notifications.answer("ListFeed", npb.ListFeedResponse(items=[feed_item(1)]))
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=1)
    )
    if answer is not None:
        services.notifications.answer("MarkFeedItemRead", answer)
    csrf = csrf_of((await signed_in.get("/evenements", headers=HTML)).text)

    response = await signed_in.post(
        f"/evenements/{item_id}/lu",
        data={"csrf_token": csrf if csrf_ok else "faux"},
        headers=HTML,
    )

    assert response.status_code == status
    assert message in html.unescape(response.text)
    assert "Facture F-1 reçue" in response.text  # the feed is shown again
    assert len(services.notifications.calls_to("MarkFeedItemRead")) == (answer is not None)


async def test_marking_all_with_an_expired_form_marks_nothing(signed_in, services):
    services.notifications.answer("ListFeed", npb.ListFeedResponse())
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=0)
    )

    response = await signed_in.post(
        "/evenements/tout-lu", data={"csrf_token": "faux"}, headers=HTML
    )

    assert response.status_code == 403
    assert "Votre formulaire a expiré" in response.text
    assert services.notifications.calls_to("MarkAllFeedItemsRead") == []


async def test_an_empty_feed_says_what_it_will_hold(signed_in, services):
    services.notifications.answer("ListFeed", npb.ListFeedResponse())
    services.notifications.answer(
        "CountUnreadFeedItems", npb.CountUnreadFeedItemsResponse(unread=0)
    )

    page = await signed_in.get("/evenements", headers=HTML)

    assert "Aucun événement pour l'instant." in page.text
    assert "Aucun événement non lu." in page.text
    assert 'action="/evenements/tout-lu"' not in page.text
