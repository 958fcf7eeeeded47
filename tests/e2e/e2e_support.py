"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import random
import re
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


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@exemple.fr"


def random_siret() -> str:
    """A SIRET that passes the checks: its SIREN and the whole 14 digits are Luhn-valid."""
    siren = str(random.randint(10_000_000, 99_999_999))
    siren += luhn.calc_check_digit(siren)
    body = siren + f"{random.randint(0, 9999):04d}"
    return body + luhn.calc_check_digit(body)


def activation_token(message: dict) -> str:
    match = re.search(r"/activation\?token=([A-Za-z0-9_\-]+)", message["Text"])
    assert match, f"no activation link in: {message['Text']!r}"
    return match.group(1)


STRONG_PASSWORD = "Correct-Cheval-42"
