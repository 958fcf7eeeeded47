"""The per-IP rate limits of the portal's doors: login, second factor, password reset (request,
link, confirmation), activation resend and registration. The portal keeps its own buckets (one
process, its own limiter); the REST API's doors are limited by the gateway
(services/gateway/tests/test_edge_doors.py). Behind the gateway's relay in development, or the
Ingress in Kubernetes, the portal trusts that hop and counts the real client."""

from __future__ import annotations

import re

import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import Unauthenticated

HTML = {"Accept": "text/html"}
LOGIN = {"login_email": "marie@example.fr", "password": "mauvais"}


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field in the page"
    return match.group(1)


def refuse_logins(services) -> None:
    services.identity.answer(
        "CreateSession", Unauthenticated("INVALID_CREDENTIALS", "Identifiants incorrects.")
    )


async def portal_login(client, csrf: str, headers: dict[str, str] | None = None):
    return await client.post(
        "/connexion", data={**LOGIN, "csrf_token": csrf}, headers={**HTML, **(headers or {})}
    )


def assert_limited_page(response) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text
    assert "Trop de tentatives" in response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_portal_logins_are_limited_after_the_burst(services, gateway):
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=3, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        answers = [await portal_login(client, csrf) for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert_limited_page(answers[-1])
    assert 'value="marie@example.fr"' in answers[-1].text  # the form keeps what was typed
    assert len(services.identity.calls_to("CreateSession")) == 3


async def test_portal_logins_are_limited_even_with_a_rotating_forwarded_for(services, gateway):
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=2, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        codes = [
            (await portal_login(client, csrf, {"X-Forwarded-For": f"198.18.1.{i}"})).status_code
            for i in range(1, 5)
        ]

    assert codes == [401, 401, 429, 429]


async def test_behind_the_relay_each_real_client_has_its_own_bucket(services, gateway):
    # The gateway's relay (or the Ingress) is the one trusted hop: it appends the client.
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=1, rate_limit_per_minute=1, trusted_proxy_hops=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        first = await portal_login(client, csrf, {"X-Forwarded-For": "192.0.2.1"})
        again = await portal_login(client, csrf, {"X-Forwarded-For": "192.0.2.1"})
        other = await portal_login(client, csrf, {"X-Forwarded-For": "192.0.2.2"})

    assert (first.status_code, again.status_code, other.status_code) == (401, 429, 401)
    forwarded = {c.metadata["x-forwarded-for"] for c in services.identity.calls}
    assert forwarded == {"192.0.2.1", "192.0.2.2"}


@pytest.mark.parametrize(
    ("path", "form", "method"),
    [
        ("/connexion/code", {"challenge_id": "c1", "code": "123456"}, "CompleteMfaChallenge"),
        ("/mot-de-passe-oublie", {"login_email": "marie@example.fr"}, "RequestPasswordReset"),
        (
            "/mot-de-passe/reinitialisation",
            {
                "token": "t",
                "question": "Ville ?",
                "secret_answer": "Lyon",
                "password": "Un-Bon-Mot2passe",
                "password_confirmation": "Un-Bon-Mot2passe",
            },
            "ConfirmPasswordReset",
        ),
        ("/activation/renvoi", {"login_email": "marie@example.fr"}, "ResendActivation"),
    ],
)
async def test_every_portal_door_is_limited(services, gateway, path, form, method):
    services.identity.answer(method, Unauthenticated("REFUSED", "Refusé."))
    settings = services.settings(rate_limit_burst=2, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        answers = [
            await client.post(path, data={**form, "csrf_token": csrf}, headers=HTML)
            for _ in range(3)
        ]

    assert 429 not in [a.status_code for a in answers[:2]]
    assert_limited_page(answers[2])
    assert len(services.identity.calls_to(method)) == 2


async def test_the_reset_link_page_is_limited(services, gateway):
    services.identity.answer("GetPasswordReset", pb.GetPasswordResetResponse(secret_question="Q ?"))
    settings = services.settings(rate_limit_burst=2, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        pages = [
            await client.get("/mot-de-passe/reinitialisation?token=t", headers=HTML)
            for _ in range(3)
        ]

    assert [p.status_code for p in pages[:2]] == [200, 200]
    assert_limited_page(pages[2])
    assert len(services.identity.calls_to("GetPasswordReset")) == 2


async def test_a_form_refused_for_its_csrf_token_takes_nothing_from_the_bucket(services, gateway):
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=1, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        forged = await client.post("/connexion", data={**LOGIN, "csrf_token": "x"}, headers=HTML)
        real = await portal_login(client, csrf)

    assert forged.status_code == 403
    assert real.status_code == 401


async def test_registrations_are_limited_per_client(services, gateway):
    # Each registration e-mails an address (an activation link, or a warning to the owner of
    # an existing account): unlimited, anyone could flood a mailbox through it.
    services.identity.answer("RegisterAccount", pb.RegisterAccountResponse())
    settings = services.settings(rate_limit_burst=2, rate_limit_per_minute=1)
    async with gateway(settings) as client:
        csrf = csrf_of((await client.get("/inscription", headers=HTML)).text)
        form = {
            "login_email": "inscrite@exemple.fr",
            "first_name": "Inès",
            "last_name": "Martin",
            "terms_accepted": "on",
            "csrf_token": csrf,
        }
        answers = [await client.post("/inscription", data=form, headers=HTML) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert_limited_page(answers[2])
    assert 'value="inscrite@exemple.fr"' in answers[2].text
    assert len(services.identity.calls_to("RegisterAccount")) == 2
