"""The channel a deposit RPC came through, for ``chorus.invoices.deposits``
(:mod:`chorus_invoices.usecases.deposit_metrics`): ``cpro`` for a technical account (the
Chorus Pro-compatible API), else the gateway's ``x-chorus-channel`` metadata (``portal`` for
the web portal, ``api`` for the REST API), ``portal`` when the caller did not say. DepositFlow
is always ``flow``."""

from __future__ import annotations

from chorus_platform.auth import optional_principal

from chorus_invoices.usecases.deposit_metrics import count, counted

__all__ = ["CHANNEL_METADATA", "channel_of", "count", "counted"]

CHANNEL_METADATA = "x-chorus-channel"
_GATEWAY_CHANNELS = frozenset({"portal", "api"})


def channel_of(context) -> str:
    """The channel of the RPC being handled (see the module's docstring)."""
    principal = optional_principal()
    if principal is not None and principal.technical_structure_id:
        return "cpro"
    for key, value in context.invocation_metadata() or ():
        if key == CHANNEL_METADATA and value in _GATEWAY_CHANNELS:
            return value
    return "portal"
