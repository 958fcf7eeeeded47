"""The Chorus Pro-compatible API at the gateway's address: ``/api/oauth/token`` and
``/cpro/**`` relayed to cpro-api (``CHORUS_CPRO_API_URL``), so that on ``make run`` and in
compose an ERP is given one base address, ``http://127.0.0.1:8080``, as on PISTE.

Why a relay rather than one process serving both apps: the services never import each other
(the ``services-independent`` contract), cpro-api is its own Deployment in Kubernetes (where
the Ingress routes those paths to it directly and this relay only serves in-cluster callers),
and a relay is a few lines with no new infrastructure for ``make run``.

:class:`CproProxy` wraps the whole gateway, outside its body limits (cpro-api bounds its own
bodies: a flow is 22 MiB of JSON, above the gateway's 2 MiB default) and outside its
instrumentation (cpro-api traces its requests). A matching request is streamed both ways
without buffering (:class:`~chorus_gateway.relay.Relay`: the ``Authorization`` and
``cpro-account`` credentials pass as sent, ``X-Forwarded-*`` are set). When cpro-api does not
answer, the client gets 503 with ``Retry-After`` and the Chorus Pro envelope
(``codeRetour``/``libelle``), what its clients parse. Every other path goes to the gateway.
An empty ``CHORUS_CPRO_API_URL`` turns the relay off (the paths then answer the gateway's 404).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Scope, Send

from chorus_gateway.relay import Relay

TOKEN_PATH = "/api/oauth/token"
API_PREFIX = "/cpro"

READ_SECONDS = 120.0
"""A flow of one invoice is checked (schema, schematron) before ``deposer/flux`` answers."""

UNAVAILABLE_MESSAGE = (
    "L'API compatible Chorus Pro est momentanément indisponible ; réessayez dans quelques instants."
)


def is_cpro_path(path: str) -> bool:
    """``/api/oauth/token`` (with or without a final slash) and ``/cpro`` and below."""
    return path.rstrip("/") == TOKEN_PATH or path == API_PREFIX or path.startswith(API_PREFIX + "/")


class CproProxy(Relay):
    """Relays the Chorus Pro-compatible paths to ``target`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, target: str) -> None:
        super().__init__(
            app,
            target,
            matches=is_cpro_path,
            unavailable=_unavailable,
            name="cpro-api",
            read_seconds=READ_SECONDS,
        )


async def _unavailable(scope: Scope, send: Send) -> None:
    body = json.dumps(
        {
            "codeRetour": 503,
            "libelle": UNAVAILABLE_MESSAGE,
            "erreur": {"raison": "SERVICE_INDISPONIBLE", "message": UNAVAILABLE_MESSAGE},
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"2"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
