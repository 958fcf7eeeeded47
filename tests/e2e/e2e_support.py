"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import random
import re
import unicodedata
import uuid

import httpx
from stdnum import luhn

PUBLIC_RECIPIENT_SIRET = "11000201100010"  # seeded by `chorus-structures seed-demo`
SERVICE_REQUIRED_SIRET = "21750001600019"


class Mailbox:
    """Reads the SMTP catcher through the Mailpit-shaped HTTP API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def messages_to(self, address: str) -> list[dict]:
        response = await self.client.get("/api/v1/messages")
        response.raise_for_status()
        found = []
        for summary in response.json()["messages"]:
            if any(to["Address"].lower() == address.lower() for to in summary["To"]):
                detail = await self.client.get(f"/api/v1/message/{summary['ID']}")
                detail.raise_for_status()
                found.append(detail.json())
        return found

    async def wait_for(self, address: str, subject_contains: str, timeout: float = 60) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for message in await self.messages_to(address):
                    if subject_contains in message["Subject"]:
                        return message
                await asyncio.sleep(0.3)


def client_ip() -> str:
    """A made-up client address (benchmarking range, never contacted): the e2e stack trusts
    127.0.0.1 as a proxy (conftest.E2E_ENV), so a test can act as several clients."""
    return f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"


def unique_email(prefix: str = "user") -> str:
    """A fresh address; accents are dropped (identity refuses them before the @)."""
    ascii_prefix = unicodedata.normalize("NFKD", prefix).encode("ascii", "ignore").decode()
    return f"{ascii_prefix}.{uuid.uuid4().hex[:10]}@exemple.fr"


def random_siret() -> str:
    """A SIRET that passes the checks: its SIREN and the whole 14 digits are Luhn-valid."""
    siren = str(random.randint(10_000_000, 99_999_999))
    siren += luhn.calc_check_digit(siren)
    body = siren + f"{random.randint(0, 9999):04d}"
    return body + luhn.calc_check_digit(body)


def activation_token(message: dict) -> str:
    return link_token(message, "/activation")


def link_token(message: dict, path: str) -> str:
    """The token of the ``<path>?token=`` link in an e-mail."""
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-]+)", message["Text"])
    assert match, f"no {path} link in: {message['Text']!r}"
    return match.group(1)


STRONG_PASSWORD = "Correct-Cheval-42"


def registration_body(email: str, first_name: str, last_name: str = "Dupont") -> dict:
    """The body of POST /accounts for a new user (the one place to adapt when it changes)."""
    return {
        "login_email": email,
        "first_name": first_name,
        "last_name": last_name,
        "terms_accepted": True,
    }


async def activated_user(
    api: httpx.AsyncClient,
    mailbox: Mailbox,
    first_name: str,
    last_name: str = "Dupont",
) -> tuple[str, str, dict[str, str]]:
    """A registered, activated and logged-in user: (user id, login e-mail, auth headers)."""
    email = unique_email(first_name.lower())
    response = await api.post("/accounts", json=registration_body(email, first_name, last_name))
    # The same 202 {} whether or not the address had an account: the id comes from /me.
    assert (response.status_code, response.json()) == (202, {}), response.text
    mail = await mailbox.wait_for(email, "Activez votre compte")
    response = await api.post(
        "/accounts/activation",
        json={
            "token": activation_token(mail),
            "password": STRONG_PASSWORD,
            "secret_question": "Nom de mon premier chat ?",
            "secret_answer": "Félix",
        },
    )
    assert response.status_code == 200, response.text
    login = await api.post("/auth/token", json={"login_email": email, "password": STRONG_PASSWORD})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = await api.get("/me", headers=auth)
    assert me.status_code == 200, me.text
    return me.json()["id"], email, auth


async def rendered_document(api: httpx.AsyncClient, auth: dict, invoice_id: str, timeout=60):
    """``GET /invoices/{id}/document`` once it is there: a portal invoice's Factur-X PDF is
    rendered after its deposit, 503 DOCUMENT_IN_PREPARATION (``Retry-After: 2``) until then."""
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}/document", headers=auth)
            if response.status_code != 503:
                return response
            assert response.json()["code"] == "DOCUMENT_IN_PREPARATION", response.text
            assert response.headers["retry-after"] == "2"
            await asyncio.sleep(0.2)
