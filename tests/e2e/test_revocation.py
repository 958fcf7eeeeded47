"""A revoked session's access token is refused by every service, not only by identity.

After each way a session ends — logout, refresh-token reuse, deleting the session from "Mon
compte", password reset, password change (the *other* sessions: the one that changed the
password stays open, as identity's tested rule says) — the old access token is used against
a read and a write of every service, through the gateway: structures, invoices,
notifications and identity. Each answers 401 ``SESSION_REVOKED``.

The delay from the revoking call's answer to the first refusal by each service is measured
(each service's read polled every 10 ms, deadline ``DEADLINE`` seconds) and printed: identity
checks its database at once; the others hear of it through identity's ``SessionRevoked``
event (outbox relay → broker → each service's deny-list). No assertion on the figures.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import jwt
import pytest
from e2e_support import (
    PUBLIC_RECIPIENT_SIRET,
    STRONG_PASSWORD,
    activated_user,
    link_token,
    random_siret,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEADLINE = 5.0
NEW_PASSWORD = "Tartiflette-Reblochon-74"
DELAYS: dict[str, dict[str, float]] = {}
"""Revocation → first refusal, per scenario and service (milliseconds), printed at the end."""


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def sid(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


async def login(api, email: str, password: str = STRONG_PASSWORD) -> dict:
    response = await api.post("/auth/token", json={"login_email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def new_structure() -> dict:
    return {
        "identifier_type": "SIRET",
        "identifier": random_siret(),
        "raison_sociale": "Fromagerie des Aravis",
        "address": {
            "line1": "3 route du Col",
            "postal_code": "74220",
            "city": "La Clusaz",
            "country": "FR",
        },
    }


def new_invoice(supplier_id: str) -> dict:
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"R-{uuid.uuid4().hex[:8]}",
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Reblochon fermier",
                "quantity": "2",
                "unit": "C62",
                "unit_price": "9.80",
                "vat_rate": "5.5",
            }
        ],
    }


def reads() -> dict[str, tuple[str, str]]:
    """One read per service: (method, path)."""
    return {
        "identity": ("GET", "/me"),
        "structures": ("GET", "/me/structures"),
        "invoices": ("GET", "/invoices"),
        "notifications": ("GET", "/feed"),
    }


def writes(structure_id: str) -> dict[str, tuple[str, str, dict]]:
    """One write per service: (method, path, body)."""
    return {
        "identity": ("PATCH", "/me", {"first_name": "Usurpateur"}),
        "structures": ("POST", "/structures", new_structure()),
        "invoices": ("POST", "/invoices", new_invoice(structure_id)),
        "notifications": (
            "PUT",
            "/me/notification-preferences",
            {"email": {"INVOICE_STATUS_CHANGED": False}},
        ),
    }


def is_revoked(response) -> bool:
    return response.status_code == 401 and response.json().get("code") == "SESSION_REVOKED"


async def first_refusal(api, token: str, method: str, path: str, since: float) -> float:
    """Seconds from ``since`` until the read is refused as SESSION_REVOKED."""
    async with asyncio.timeout(DEADLINE):
        while True:
            response = await api.request(method, path, headers=bearer(token))
            if is_revoked(response):
                return time.monotonic() - since
            # Still accepted (200), or the service is momentarily busy (503 + Retry-After, as
            # on a loaded machine): ask again; anything else is a failure.
            assert response.status_code in (200, 503), response.text
            await asyncio.sleep(0.01)


async def assert_refused_everywhere(
    scenario: str, api, token: str, structure_id: str, revoked_at: float
) -> None:
    """Every service's read refuses ``token`` (delays recorded), then every write does."""
    delays = await asyncio.gather(
        *(first_refusal(api, token, method, path, revoked_at) for method, path in reads().values())
    )
    DELAYS[scenario] = {name: d * 1000 for name, d in zip(reads(), delays, strict=True)}
    print(
        f"\n{scenario}: "
        + ", ".join(f"{name} {ms:.0f} ms" for name, ms in DELAYS[scenario].items())
    )
    for name, (method, path, body) in writes(structure_id).items():
        response = await api.request(method, path, headers=bearer(token), json=body)
        assert is_revoked(response), (name, response.status_code, response.text)


async def user_with_structure(api, mailbox, first_name: str) -> tuple[str, str, str]:
    """A logged-in user managing one structure: (login e-mail, access token, structure id).

    The token works everywhere before the revocation (so a refusal later is the revocation's).
    """
    _, email, auth = await activated_user(api, mailbox, first_name)
    created = await api.post("/structures", headers=auth, json=new_structure())
    assert created.status_code == 201, created.text
    token = auth["Authorization"].removeprefix("Bearer ")
    for method, path in reads().values():
        response = await api.request(method, path, headers=auth)
        assert response.status_code == 200, (path, response.text)
    return email, token, created.json()["id"]


async def working(api, token: str) -> None:
    for method, path in reads().values():
        response = await api.request(method, path, headers=bearer(token))
        assert response.status_code == 200, (path, response.text)


async def test_after_logout(api, mailbox):
    email, _, structure_id = await user_with_structure(api, mailbox, "Aline")
    session = await login(api, email)
    await working(api, session["access_token"])

    response = await api.post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    revoked_at = time.monotonic()

    assert response.status_code == 204, response.text
    await assert_refused_everywhere(
        "logout", api, session["access_token"], structure_id, revoked_at
    )


async def test_after_refresh_token_reuse(api, mailbox):
    email, _, structure_id = await user_with_structure(api, mailbox, "Bruno")
    first = await login(api, email)
    rotated = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    latest = rotated.json()["access_token"]
    await working(api, latest)

    # The spent refresh token comes back: someone copied it; the whole session goes.
    reused = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    revoked_at = time.monotonic()

    assert reused.status_code == 401, reused.text
    await assert_refused_everywhere("refresh-token reuse", api, latest, structure_id, revoked_at)


async def test_after_deleting_the_session(api, mailbox):
    email, current, structure_id = await user_with_structure(api, mailbox, "Chloé")
    other = await login(api, email)
    await working(api, other["access_token"])

    response = await api.delete(
        f"/me/sessions/{sid(other['access_token'])}", headers=bearer(current)
    )
    revoked_at = time.monotonic()

    assert response.status_code == 204, response.text
    await assert_refused_everywhere(
        "session deletion", api, other["access_token"], structure_id, revoked_at
    )
    await working(api, current)


async def test_after_password_reset(api, mailbox):
    email, token, structure_id = await user_with_structure(api, mailbox, "Damien")
    assert (await api.post("/password-resets", json={"login_email": email})).status_code == 202
    mail = await mailbox.wait_for(email, "Réinitialisez")
    link = link_token(mail, "/mot-de-passe/reinitialisation")

    response = await api.post(
        "/password-resets/confirm",
        json={"token": link, "secret_answer": "Félix", "password": NEW_PASSWORD},
    )
    revoked_at = time.monotonic()

    assert response.status_code == 204, response.text
    await assert_refused_everywhere("password reset", api, token, structure_id, revoked_at)


async def test_after_password_change_every_other_session(api, mailbox):
    email, current, structure_id = await user_with_structure(api, mailbox, "Émilie")
    other = await login(api, email)
    await working(api, other["access_token"])

    response = await api.post(
        "/me/password",
        headers=bearer(current),
        json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD},
    )
    revoked_at = time.monotonic()

    assert response.status_code == 204, response.text
    await assert_refused_everywhere(
        "password change", api, other["access_token"], structure_id, revoked_at
    )
    # The session that changed the password stays open (identity's rule, tested there too).
    await working(api, current)


async def test_zz_print_the_delays():
    """The figures of this module's run (run with -s to see them)."""
    if not DELAYS:
        pytest.skip("no revocation scenario ran")
    services = list(reads())
    print("\nrevocation → first refusal (ms): " + " | ".join(services))
    for scenario, delays in DELAYS.items():
        print(f"  {scenario:<20} " + " | ".join(f"{delays[s]:>6.0f}" for s in services))
