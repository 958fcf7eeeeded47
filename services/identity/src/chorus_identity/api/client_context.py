"""Who the client behind an RPC is: the gateway forwards the browser's IP address
(``x-forwarded-for``) and user agent (``x-forwarded-user-agent``) in metadata; login and
refresh also carry them in ``ClientInfo``."""

from __future__ import annotations

import grpc
from chorus.identity.v1 import identity_service_pb2 as pb

from chorus_identity.domain.audit import ClientContext


def client_context(
    context: grpc.aio.ServicerContext, info: pb.ClientInfo | None = None
) -> ClientContext:
    metadata = {key: value for key, value in (context.invocation_metadata() or ())}
    forwarded = str(metadata.get("x-forwarded-for", "")).split(",")[0].strip()
    ip_address = (info.ip_address if info is not None else "") or forwarded
    user_agent = (info.user_agent if info is not None else "") or str(
        metadata.get("x-forwarded-user-agent", "")
    )
    return ClientContext(ip_address=ip_address, user_agent=user_agent).clipped()
