"""Who is calling through the gateway, as forwarded to the services in gRPC metadata."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The HTTP client behind a request: its token (if any), IP address and user agent.

    The gateway never decodes the token: every service verifies it itself.
    """

    token: str | None = None
    ip_address: str = ""
    user_agent: str = ""
    idempotency_key: str = ""
    channel: str = ""
    """``api`` (REST) or ``portal`` (web pages): deposits are counted by channel in invoices'
    metrics (``chorus.invoices.deposits``)."""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata: ``authorization: Bearer``, ``x-forwarded-for``, ``idempotency-key``,
        ``x-chorus-channel``."""
        entries: list[tuple[str, str]] = []
        if self.token:
            entries.append(("authorization", f"Bearer {self.token}"))
        if self.ip_address:
            entries.append(("x-forwarded-for", self.ip_address))
        if self.idempotency_key:
            entries.append(("idempotency-key", self.idempotency_key))
        if self.channel:
            entries.append(("x-chorus-channel", self.channel))
        return tuple(entries)
