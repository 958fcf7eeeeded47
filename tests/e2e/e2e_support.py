"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import random
import re
import uuid

import httpx

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
    """A SIRET with a valid Luhn checksum (SIREN 9 digits + NIC 5 digits)."""
    digits = [random.randint(0, 9) for _ in range(13)]
    digits[0] = random.randint(1, 9)
    for last in range(10):
        candidate = [*digits, last]
        total = 0
        for i, d in enumerate(reversed(candidate)):
            d = d * 2 if i % 2 else d
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return "".join(map(str, candidate))
    raise AssertionError("unreachable")


def activation_token(message: dict) -> str:
    match = re.search(r"/activation\?token=([A-Za-z0-9_\-]+)", message["Text"])
    assert match, f"no activation link in: {message['Text']!r}"
    return match.group(1)


STRONG_PASSWORD = "Correct-Cheval-42"
