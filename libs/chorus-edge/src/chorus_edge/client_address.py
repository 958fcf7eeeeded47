"""Who the client is: the socket peer, or what a trusted proxy says in ``X-Forwarded-For``.

Anyone can send ``X-Forwarded-For``; only the entries the gateway's own proxies appended can
be believed. Each proxy appends the address it received the request from, so the chain reads,
left to right, ``<whatever the client wrote>, …, <what each proxy saw>``, and the socket peer
comes last. :func:`client_address` walks that chain from the right, skipping the trusted
proxies, and takes the first address that is not one: the right-most untrusted hop. Rotating
the header changes only the entries to the left of it, so it gains a client nothing (neither a
fresh rate-limit bucket nor another address in the audit trail).

A hop is trusted when it is one of the first ``hops`` addresses from the right (the peer
counts as the first), or when it belongs to one of the trusted ``networks``. By default
neither is set and the client is the socket peer, whatever the headers say. An entry that is
not an IP address ends the walk at the trusted hop that wrote it.

:class:`ClientAddressMiddleware` puts the result in the ASGI scope's ``client``, so the
access log, the rate limiter and the services' ``x-forwarded-for`` metadata all see the same
client. uvicorn's own proxy-header handling is off (``main.server_config``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_ENTRIES = 64
"""X-Forwarded-For entries considered, from the right: no real chain of proxies is longer."""


def parse_address(entry: str) -> IpAddress | None:
    """One ``X-Forwarded-For`` entry as an address: ``203.0.113.7``, ``203.0.113.7:4711``,
    ``2001:db8::1`` or ``[2001:db8::1]:4711``; ``None`` for anything else."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.1.2.3 is 10.1.2.3
    return mapped or address


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies in front of the gateway: a number of hops, networks, or both."""

    hops: int = 0
    networks: tuple[IpNetwork, ...] = ()

    def trusts(self, position: int, address: IpAddress) -> bool:
        """Whether the hop ``position`` places from the right (0: the peer) is a proxy."""
        return position < self.hops or any(address in network for network in self.networks)


def client_address(peer: str, forwarded_for: Sequence[str], proxies: TrustedProxies) -> str:
    """The client's address: the right-most hop of ``forwarded_for`` + [``peer``] that is not
    a trusted proxy (the left-most one when every hop is trusted)."""
    peer_address = parse_address(peer)
    if peer_address is None or not proxies.trusts(0, peer_address):
        return peer
    entries = [part for value in forwarded_for for part in value.split(",") if part.strip()]
    client = str(peer_address)
    for position, entry in enumerate(reversed(entries[-_MAX_ENTRIES:]), start=1):
        address = parse_address(entry)
        if address is None:
            return client  # a trusted hop wrote something unreadable: it is the last we know
        client = str(address)
        if not proxies.trusts(position, address):
            return client
    return client


class ClientAddressMiddleware:
    """Sets ``scope["client"]`` to :func:`client_address` of the request (pure ASGI)."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (self.proxies.hops or self.proxies.networks):
            peer = (scope.get("client") or ("", 0))[0]
            forwarded = [
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name.lower() == b"x-forwarded-for"
            ]
            client = client_address(peer, forwarded, self.proxies)
            if client != peer:
                scope = {**scope, "client": (client, 0)}
        await self.app(scope, receive, send)
