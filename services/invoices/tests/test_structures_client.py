"""clients/structures.py against the structures test double: caching and failure mapping."""

from __future__ import annotations

import uuid

import pytest
from chorus_invoices.clients.structures import StructuresClient, StructuresUnavailable
from chorus_platform import auth
from chorus_platform.errors import Unavailable
from chorus_platform.grpc_client import open_channel


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def as_caller():
    token = auth._principal.set(auth.Principal(str(uuid.uuid4()), "sid", "token-123"))
    yield
    auth._principal.reset(token)


async def test_access_answers_are_reused_until_they_expire(fake_structures, as_caller):
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
    assert set(fake_structures.authorizations) == {"Bearer token-123"}


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
