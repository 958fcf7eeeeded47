"""clients/structures.py against the structures test double: caching, failure mapping, and
the anonymous look-ups of the flow worker (no token sent, public structures only)."""

from __future__ import annotations

import uuid

import pytest
from chorus_invoices.clients.structures import StructuresClient, StructuresUnavailable
from chorus_invoices.domain.forms import RecipientRef
from chorus_platform import auth
from chorus_platform.errors import Unauthenticated, Unavailable
from chorus_platform.grpc_client import open_channel


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def caller_token(signer) -> str:
    return signer.token(str(uuid.uuid4()))


@pytest.fixture
def as_caller(caller_token):
    token = auth._principal.set(auth.Principal(str(uuid.uuid4()), "sid", caller_token))
    yield
    auth._principal.reset(token)


async def test_access_answers_are_reused_until_they_expire(
    fake_structures, as_caller, caller_token
):
    structure = fake_structures.add("Commune")
    user = str(uuid.uuid4())
    clock = Clock()
    async with open_channel(f"127.0.0.1:{fake_structures.port}", 5) as channel:
        client = StructuresClient(channel, cache_seconds=5, clock=clock)

        assert not await client.may(user, structure.id, "FACTURES_EMISES", "MODIFICATION")
        fake_structures.grant(user, structure.id, "FACTURES_EMISES", "MODIFICATION")
        clock.now += 4.9
        assert not await client.may(user, structure.id, "FACTURES_EMISES", "MODIFICATION")
        assert fake_structures.calls["CheckAccess"] == 1
        assert await client.may(user, structure.id, "FACTURES_EMISES", "CONSULTATION")
        clock.now += 0.2
        assert await client.may(user, structure.id, "FACTURES_EMISES", "MODIFICATION")

    assert fake_structures.calls["CheckAccess"] == 3
    assert set(fake_structures.authorizations) == {f"Bearer {caller_token}"}


async def test_unknown_structure_is_none_and_a_dead_service_is_unavailable(
    fake_structures, as_caller
):
    async with open_channel(f"127.0.0.1:{fake_structures.port}", 5) as channel:
        client = StructuresClient(channel, cache_seconds=5)
        assert await client.structure(str(uuid.uuid4())) is None
        assert await client.find("SIRET", "00000000000000") is None

    async with open_channel("127.0.0.1:1", 0.5) as channel:
        client = StructuresClient(channel, cache_seconds=5)
        with pytest.raises(StructuresUnavailable) as raised:
            await client.structure(str(uuid.uuid4()))
    assert isinstance(raised.value, Unavailable)
    assert raised.value.reason == "STRUCTURES_UNAVAILABLE"


async def test_anonymous_look_ups_send_no_token_and_find_public_structures_only(
    fake_structures, as_caller
):
    public = fake_structures.add("Commune de Valmont")
    private = fake_structures.add("Atelier Dupont SARL", public=False)
    async with open_channel(f"127.0.0.1:{fake_structures.port}", 5) as channel:
        client = StructuresClient(channel, cache_seconds=5)
        found = await client.structure(public.id, anonymous=True)
        assert found is not None and found.structure_id == public.id and found.public
        by_siret = await client.find("SIRET", public.identifier, anonymous=True)
        assert by_siret is not None and by_siret.structure_id == public.id
        ref = RecipientRef(identifier_type="SIRET", identifier=public.identifier)
        assert (await client.recipient(ref, anonymous=True)).structure_id == public.id
        assert await client.structure(private.id, anonymous=True) is None
        assert await client.find("SIRET", private.identifier, anonymous=True) is None
        assert fake_structures.authorizations == [""] * 5
        # With the caller's token, as before: the private structure too.
        assert (await client.structure(private.id)).structure_id == private.id
        assert fake_structures.authorizations[-1].startswith("Bearer ")


async def test_anonymous_look_ups_need_no_caller(fake_structures):
    public = fake_structures.add("Commune de Valmont")
    async with open_channel(f"127.0.0.1:{fake_structures.port}", 5) as channel:
        client = StructuresClient(channel, cache_seconds=5)
        assert (await client.structure(public.id, anonymous=True)).structure_id == public.id
        with pytest.raises(Unauthenticated):
            await client.structure(public.id)
    assert fake_structures.authorizations == [""]
