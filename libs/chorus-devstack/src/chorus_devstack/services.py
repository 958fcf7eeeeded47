"""What the stack runs: the Chorus services in start order, and the commands run once after
their migrations. Adding a service is one line in :data:`SERVICES`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Service:
    """One Chorus process the stack runs.

    ``kind="grpc"``: ``env`` is the ``CHORUS_<SVC>_ADDR`` variable (``host:port``) the others
    use to reach it; it gets ``CHORUS_GRPC_PORT`` and is ready when gRPC health says SERVING.
    ``kind="http"``: it gets its own ``CHORUS_HTTP_PORT`` and is ready when ``GET /readyz``
    returns 200; ``env`` is the variable the others read: a port (``CHORUS_HTTP_PORT``, the
    gateway's, whose address is the stack's public one) or, for a name ending in ``_URL``, its
    base URL (``CHORUS_CPRO_API_URL=http://127.0.0.1:<port>``, what the gateway relays to).
    ``env_defaults``: variables given to this service alone (the portal trusts the gateway's
    relay, one hop, so its per-IP limits count the real client).
    """

    name: str
    script: str
    kind: Literal["grpc", "http"]
    env: str
    default_port: int
    migrate: bool = True
    env_defaults: tuple[tuple[str, str], ...] = ()


#: The services, in start order. Adding a service is one line here.
SERVICES: tuple[Service, ...] = (
    Service("identity", "chorus-identity", "grpc", "CHORUS_IDENTITY_ADDR", 50051),
    Service("structures", "chorus-structures", "grpc", "CHORUS_STRUCTURES_ADDR", 50052),
    Service("invoices", "chorus-invoices", "grpc", "CHORUS_INVOICES_ADDR", 50053),
    Service("notifications", "chorus-notifications", "grpc", "CHORUS_NOTIFICATIONS_ADDR", 50054),
    Service(
        "portal",
        "chorus-portal",
        "http",
        "CHORUS_PORTAL_BACKEND_URL",
        8070,
        migrate=False,
        env_defaults=(("CHORUS_TRUSTED_PROXY_HOPS", "1"),),
    ),
    Service("gateway", "chorus-gateway", "http", "CHORUS_HTTP_PORT", 8080, migrate=False),
    Service("cpro-api", "chorus-cpro-api", "http", "CHORUS_CPRO_API_URL", 8090, migrate=False),
)

#: Commands run once after all migrations: (service name, arguments of its script).
SETUP_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (("structures", ("seed-demo",)),)
