"""The web portal at the gateway's address: every path the gateway does not own is relayed to
the portal (``CHORUS_PORTAL_BACKEND_URL``), so that on ``make run`` and in compose a browser
and an API client share one base address, ``http://127.0.0.1:8080``.

The gateway owns the REST API (``/api/**``, its documentation included, and the documentation's
assets under ``/static/swagger-ui/`` and ``/static/api-docs/``), its probes (``/healthz``,
``/readyz``, ``/livez``), the token keys (``/.well-known/**``) and the Chorus Pro-compatible
paths (relayed to cpro-api by :mod:`~chorus_gateway.cpro_proxy`); everything
else (``/``, ``/connexion``, ``/factures/**``, ``/static/**``...) is the portal's. In
Kubernetes the Ingress routes ``/`` to the portal's Service directly and this relay only
serves what reaches the gateway's Service by its address.

:class:`PortalProxy` wraps the gateway outside its body limits (the portal bounds its own
bodies, deposits with attachments included) and outside its instrumentation (the portal
traces its requests). The request is streamed (:class:`~chorus_gateway.relay.Relay`): cookies
and forms pass as sent, ``X-Forwarded-For`` gains the client's address; the portal trusts this
one hop in development (``CHORUS_TRUSTED_PROXY_HOPS=1``) so its per-IP limits count the real
client. When the portal does not answer, the browser gets a French 503 page with
``Retry-After``. An empty ``CHORUS_PORTAL_BACKEND_URL`` turns the relay off (the portal's
paths then answer the gateway's 404).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Scope, Send

from chorus_edge.security_headers import ALWAYS, PAGE_CSP
from chorus_gateway.api import docs
from chorus_gateway.cpro_proxy import is_cpro_path
from chorus_gateway.relay import Relay

GATEWAY_PREFIXES = ("/api/", "/.well-known/", docs.SWAGGER_UI_URL + "/", docs.INIT_URL + "/")
GATEWAY_PATHS = frozenset({"/api", "/healthz", "/readyz", "/livez"})

READ_SECONDS = 120.0
"""A deposit of a 15 MB file with its attachments is checked before the portal answers."""

RETRY_AFTER_SECONDS = 2

UNAVAILABLE_PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portail momentanément indisponible — Chorus</title>
</head>
<body>
<main id="contenu">
<h1>Portail momentanément indisponible</h1>
<p>Le portail Chorus ne répond pas pour le moment ; réessayez dans quelques instants.</p>
<p>L'API REST reste disponible à l'adresse <a href="/api/v1/docs">/api/v1/docs</a>.</p>
</main>
</body>
</html>
""".encode()


def is_portal_path(path: str) -> bool:
    """Every path but the gateway's own and the Chorus Pro-compatible ones."""
    if path in GATEWAY_PATHS or path.startswith(GATEWAY_PREFIXES):
        return False
    return not is_cpro_path(path)


class PortalProxy(Relay):
    """Relays the portal's paths to ``target`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, target: str) -> None:
        super().__init__(
            app,
            target,
            matches=is_portal_path,
            unavailable=_unavailable,
            name="portal",
            read_seconds=READ_SECONDS,
        )


async def _unavailable(scope: Scope, send: Send) -> None:
    headers = {
        "content-type": "text/html; charset=utf-8",
        "content-length": str(len(UNAVAILABLE_PAGE)),
        "retry-after": str(RETRY_AFTER_SECONDS),
        "cache-control": "no-store",
        "content-security-policy": PAGE_CSP,
        **{name.lower(): value for name, value in ALWAYS.items()},
    }
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": UNAVAILABLE_PAGE})
