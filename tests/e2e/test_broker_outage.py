"""Stop the broker while accounts are created: every activation e-mail still arrives once."""

from __future__ import annotations

import asyncio
import os

import pytest
from e2e_support import unique_email

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        bool(os.environ.get("CHORUS_E2E_GATEWAY_URL")),
        reason="needs the stack this suite starts (it stops and restarts the broker)",
    ),
]


async def test_activation_emails_survive_a_broker_outage_exactly_once(stack, api, mailbox):
    emails = [unique_email("outage") for _ in range(5)]
    await asyncio.to_thread(stack.broker.stop)
    try:
        for email in emails:
            response = await api.post(
                "/accounts",
                json={
                    "login_email": email,
                    "first_name": "Pierre",
                    "last_name": "Martin",
                    "terms_accepted": True,
                },
            )
            assert response.status_code == 202, response.text
        await asyncio.sleep(3)
        for email in emails:
            assert await mailbox.messages_to(email) == []
    finally:
        await asyncio.to_thread(stack.broker.start)

    for email in emails:
        await mailbox.wait_for(email, "Activez votre compte", timeout=120)
    await asyncio.sleep(5)  # leave time for any duplicate to show up
    for email in emails:
        messages = await mailbox.messages_to(email)
        assert len(messages) == 1, (email, [m["Subject"] for m in messages])
