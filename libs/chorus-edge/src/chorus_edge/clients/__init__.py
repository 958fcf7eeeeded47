"""Clients of the four Chorus services, opened at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from chorus_platform.grpc_client import channel_for, health_status
from chorus_platform.settings import ChorusSettings

from chorus_edge.clients.identity import IdentityClient
from chorus_edge.clients.invoices import InvoicesClient
from chorus_edge.clients.notifications import NotificationsClient
from chorus_edge.clients.structures import StructuresClient

SERVICES = ("identity", "structures", "invoices", "notifications")


@dataclass
class ServiceClients:
    """One client per service over one long-lived channel each."""

    identity: IdentityClient
    structures: StructuresClient
    invoices: InvoicesClient
    notifications: NotificationsClient
    channels: dict[str, grpc.aio.Channel]

    @classmethod
    def open(cls, settings: ChorusSettings) -> ServiceClients:
        """Channels to every service (calls always carry a deadline); must run in the loop."""
        channels = {name: channel_for(settings, name) for name in SERVICES}
        return cls(
            identity=IdentityClient(channels["identity"]),
            structures=StructuresClient(channels["structures"]),
            invoices=InvoicesClient(channels["invoices"]),
            notifications=NotificationsClient(channels["notifications"]),
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
