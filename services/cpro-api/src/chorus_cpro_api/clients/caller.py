"""Who calls the services on behalf of an ERP: the technical account's access token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The technical account a request acts as (its access token, from identity), the HTTP
    client's address and the ``Idempotency-Key`` it sent, as gRPC metadata."""

    token: str = ""
    ip_address: str = ""
    idempotency_key: str = ""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        entries: list[tuple[str, str]] = []
        if self.token:
            entries.append(("authorization", f"Bearer {self.token}"))
        if self.ip_address:
            entries.append(("x-forwarded-for", self.ip_address))
        if self.idempotency_key:
            entries.append(("idempotency-key", self.idempotency_key))
        return tuple(entries)
