"""Clients of the Chorus services, opened at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from chorus_platform.grpc_client import channel_for, health_status

from chorus_cpro_api.clients.identity import IdentityClient
from chorus_cpro_api.clients.invoices import InvoicesClient
from chorus_cpro_api.clients.structures import StructuresClient
from chorus_cpro_api.config import CproApiSettings

SERVICES = ("identity", "structures", "invoices", "notifications")
"""The services behind the API (notifications only for the health check: deposits' e-mails)."""

DEPOSIT_DEADLINE_SECONDS = 60.0
"""Deadline of a deposit that checks its invoice before answering (schema, schematron, PDF)."""


@dataclass
class ServiceClients:
    """One client per service over one long-lived channel each."""

    identity: IdentityClient
    structures: StructuresClient
    invoices: InvoicesClient
    channels: dict[str, grpc.aio.Channel]

    @classmethod
    def open(cls, settings: CproApiSettings) -> ServiceClients:
        """Channels to every service (calls always carry a deadline); must run in the loop."""
        channels = {name: channel_for(settings, name) for name in SERVICES}
        return cls(
            identity=IdentityClient(channels["identity"]),
            structures=StructuresClient(channels["structures"]),
            invoices=InvoicesClient(
                channels["invoices"],
                deposit_deadline=max(DEPOSIT_DEADLINE_SECONDS, settings.grpc_deadline_seconds),
            ),
            channels=channels,
        )

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))

    async def health(self, deadline: float) -> dict[str, str]:
        """Each service's health status name, checked concurrently, ``deadline`` seconds each."""
        statuses = await asyncio.gather(
            *(health_status(channel, deadline) for channel in self.channels.values())
        )
        return dict(zip(self.channels, statuses, strict=True))
