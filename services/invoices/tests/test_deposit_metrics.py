"""The channel a deposit is counted under (chorus.invoices.deposits)."""

from chorus_invoices.api.deposit_metrics import CHANNEL_METADATA, channel_of
from chorus_platform import auth
from chorus_platform.access_tokens import Principal


class Context:
    def __init__(self, *metadata: tuple[str, str]) -> None:
        self._metadata = metadata

    def invocation_metadata(self):
        return self._metadata


def as_caller(principal: Principal | None):
    return auth._principal.set(principal)


def test_the_gateway_names_portal_or_api_and_anything_else_is_the_portal():
    token = as_caller(Principal(user_id="u", session_id="s", token="t"))
    try:
        assert channel_of(Context((CHANNEL_METADATA, "api"))) == "api"
        assert channel_of(Context((CHANNEL_METADATA, "portal"))) == "portal"
        assert channel_of(Context((CHANNEL_METADATA, "cpro"))) == "portal"  # not the gateway's
        assert channel_of(Context(("x-forwarded-for", "10.0.0.1"))) == "portal"
    finally:
        auth._principal.reset(token)


def test_a_technical_account_is_the_chorus_pro_api_whatever_the_metadata_says():
    token = as_caller(Principal("u", "s", "t", technical_structure_id="st-1"))
    try:
        assert channel_of(Context((CHANNEL_METADATA, "api"))) == "cpro"
    finally:
        auth._principal.reset(token)
