import asyncio

import pytest
from chorus_platform.access_tokens import CPRO_CLIENT_AUDIENCE, TECHNICAL_STRUCTURE_CLAIM
from chorus_platform.auth import TokenVerifier, bearer_token
from chorus_platform.errors import Unauthenticated
from chorus_platform.testing.tokens import TestSigner


async def test_valid_token_gives_the_principal():
    signer = TestSigner()
    principal = await signer.verifier().verify(signer.token("u1"))
    assert principal.user_id == "u1"
    assert principal.metadata()[0][0] == "authorization"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda s: s.token("u", ttl=-1),  # expired
        lambda s: TestSigner(kid=s.kid).token("u"),  # signed by another key
        lambda s: s.token("u", aud="someone-else"),
        lambda s: s.token("u", iss="evil"),
        lambda s: s.token("u")[:-4] + "AAAA",  # tampered signature
        lambda s: "garbage",
    ],
)
async def test_bad_tokens_are_refused(make_token):
    signer = TestSigner()
    with pytest.raises(Unauthenticated):
        await signer.verifier().verify(make_token(signer))


async def test_a_technical_account_token_names_its_structure():
    signer = TestSigner()
    verifier = signer.verifier()
    principal = await verifier.verify(signer.token("t1", **{TECHNICAL_STRUCTURE_CLAIM: "s-42"}))
    assert principal.technical_structure_id == "s-42"
    assert (await verifier.verify(signer.token("u1"))).technical_structure_id == ""


async def test_an_api_application_token_is_only_good_for_its_own_audience():
    signer = TestSigner()
    client_token = signer.token("app-1", aud=CPRO_CLIENT_AUDIENCE)
    with pytest.raises(Unauthenticated):
        await signer.verifier().verify(client_token)
    cpro = signer.verifier(audience=CPRO_CLIENT_AUDIENCE)
    assert (await cpro.verify_claims(client_token))["sub"] == "app-1"
    with pytest.raises(Unauthenticated):
        await cpro.verify(signer.token("u1"))


async def test_an_edge_can_tell_an_expired_token_from_a_bad_one():
    signer = TestSigner()
    verifier = signer.verifier()
    with pytest.raises(Unauthenticated) as expired:
        await verifier.verify_claims(signer.token("u", ttl=-1), expired_reason="TOKEN_EXPIRED")
    assert expired.value.reason == "TOKEN_EXPIRED"
    with pytest.raises(Unauthenticated) as default:
        await verifier.verify(signer.token("u", ttl=-1))
    assert default.value.reason == "TOKEN_INVALID"
    with pytest.raises(Unauthenticated) as forged:
        await verifier.verify_claims("garbage", expired_reason="TOKEN_EXPIRED")
    assert forged.value.reason == "TOKEN_INVALID"


async def test_unknown_kid_triggers_a_refetch_so_rotation_is_seen_at_once():
    old, new = TestSigner("k1"), TestSigner("k2")
    served = {"k1": (await old.fetch_keys())["k1"]}
    fetches = []

    async def fetch():
        fetches.append(1)
        return dict(served)

    verifier = TokenVerifier(fetch, ttl_seconds=300, min_refetch_seconds=0)
    assert (await verifier.verify(old.token("a"))).user_id == "a"
    served["k2"] = (await new.fetch_keys())["k2"]
    assert (await verifier.verify(new.token("b"))).user_id == "b"
    assert len(fetches) == 2


async def test_keys_are_cached_between_calls():
    signer = TestSigner()
    calls = []

    async def fetch():
        calls.append(1)
        return await signer.fetch_keys()

    verifier = TokenVerifier(fetch)
    await asyncio.gather(*(verifier.verify(signer.token("u")) for _ in range(20)))
    assert len(calls) == 1


def test_bearer_token_is_read_from_metadata():
    assert bearer_token((("authorization", "Bearer abc"),)) == "abc"
    assert bearer_token((("authorization", "Basic abc"),)) is None
    assert bearer_token(None) is None
