"""GetStructure and FindStructureByIdentifier without a token (issue 11: invoices' flow worker
checks an archive's recipients after the depositor's token is gone). Public structures are
public directory data; a private one is NOT_FOUND to an anonymous caller, exactly as an unknown
one; a token that is sent must still be valid; every other RPC still needs one."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.testing.tokens import TestSigner
from chorus_structures.seed.demo import seed_demo_structures

VILLE = "21750001600019"
NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")


@pytest.fixture
async def seeded(pool):
    await seed_demo_structures(pool)


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


def by_siret(siret: str) -> pb.FindStructureByIdentifierRequest:
    return pb.FindStructureByIdentifierRequest(
        identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=siret
    )


@pytest.fixture
async def private(stub, as_user, create_request) -> pb.Structure:
    """A private company of the test's user, with an e-mail."""
    request = create_request(email="compta@dupont.example")
    return (await stub.CreateStructure(request, metadata=as_user)).structure


async def test_anonymous_caller_reads_a_public_structure_by_id_identifier_and_integer_id(
    stub, as_user, seeded
):
    found = (await stub.FindStructureByIdentifier(by_siret("217 500 016 00019"))).structure
    assert (found.identifier, found.raison_sociale) == (VILLE, "Ville de Démoville")
    assert found.kind == pb.STRUCTURE_KIND_PUBLIQUE
    assert found.routing == pb.RoutingParameters(service_code_required=True)
    assert [(s.code, s.active) for s in found.services] == [
        ("SERV-FIN", True),
        ("SERV-TECH", True),
    ]
    assert found.address.city == "Paris" and found.cpp_id > 0
    by_id = (await stub.GetStructure(pb.GetStructureRequest(structure_id=found.id))).structure
    by_cpp = (await stub.GetStructure(pb.GetStructureRequest(cpp_id=found.cpp_id))).structure
    assert by_id == found and by_cpp == found

    # With a token, the answer is the same but for the e-mail, not given to anonymous callers.
    known = await stub.GetStructure(pb.GetStructureRequest(structure_id=found.id), metadata=as_user)
    assert known.structure.email == "comptabilite@demoville.fr"
    assert found.email == ""
    known.structure.email = ""
    assert known.structure == found


async def test_a_private_structure_is_not_found_by_an_anonymous_caller_as_if_unknown(
    stub, private, as_user
):
    anonymous_calls = {
        "by id": stub.GetStructure(pb.GetStructureRequest(structure_id=private.id)),
        "by integer id": stub.GetStructure(pb.GetStructureRequest(cpp_id=private.cpp_id)),
        "by identifier": stub.FindStructureByIdentifier(by_siret(private.identifier)),
        "unknown id": stub.GetStructure(pb.GetStructureRequest(structure_id=str(uuid.uuid4()))),
        "unknown integer id": stub.GetStructure(pb.GetStructureRequest(cpp_id=private.cpp_id + 99)),
        "unknown identifier": stub.FindStructureByIdentifier(by_siret("73282932000074")),
    }
    for name, call in anonymous_calls.items():
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        error = from_rpc_error(caught.value)
        assert (error.code, error.reason) == NOT_FOUND, name
        # Nothing in the refusal tells a private structure from an unknown one.
        assert private.raison_sociale not in error.message, name
        assert private.id not in (caught.value.details() or ""), name


async def test_with_a_token_private_structures_are_read_as_before(
    stub, private, signer, create_request
):
    stranger = signer.metadata(str(uuid.uuid4()))
    got = await stub.GetStructure(
        pb.GetStructureRequest(structure_id=private.id), metadata=stranger
    )
    assert got.structure.email == "compta@dupont.example"
    found = await stub.FindStructureByIdentifier(by_siret(private.identifier), metadata=stranger)
    assert found.structure.id == private.id
    # Guessable integer ids still follow the search's rule for callers with a token.
    assert (
        await failure(
            stub.GetStructure(pb.GetStructureRequest(cpp_id=private.cpp_id), metadata=stranger)
        )
        == NOT_FOUND
    )


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param("expired", id="expired"),
        pytest.param("forged", id="unknown-key"),
        pytest.param("garbage", id="malformed"),
    ],
)
async def test_a_bad_token_is_refused_not_read_as_anonymous(stub, seeded, signer, metadata):
    tokens = {
        "expired": signer.token(str(uuid.uuid4()), ttl=-60),
        "forged": TestSigner(kid="someone-else").token(str(uuid.uuid4())),
        "garbage": "not-a-jwt",
    }
    bad = (("authorization", f"Bearer {tokens[metadata]}"),)
    public = (await stub.FindStructureByIdentifier(by_siret(VILLE))).structure
    for call in (
        stub.GetStructure(pb.GetStructureRequest(structure_id=public.id), metadata=bad),
        stub.FindStructureByIdentifier(by_siret(VILLE), metadata=bad),
    ):
        assert await failure(call) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


async def test_malformed_anonymous_look_ups_are_refused_with_their_reason(stub):
    assert await failure(stub.GetStructure(pb.GetStructureRequest(structure_id="42"))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STRUCTURE_ID_INVALID",
    )
    assert await failure(stub.GetStructure(pb.GetStructureRequest())) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STRUCTURE_ID_INVALID",
    )
    assert await failure(stub.GetStructure(pb.GetStructureRequest(cpp_id=-1))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "CPP_ID_INVALID",
    )
    code, _ = await failure(stub.FindStructureByIdentifier(by_siret("123")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_every_other_rpc_still_needs_a_token(stub, seeded, private):
    public = (await stub.FindStructureByIdentifier(by_siret(VILLE))).structure
    calls = [
        stub.SearchStructures(pb.SearchStructuresRequest(name="Démoville")),
        stub.ListServices(pb.ListServicesRequest(structure_id=public.id, page_size=10)),
        stub.GetService(pb.GetServiceRequest(service_id=public.services[0].id)),
        stub.ListMembers(pb.ListMembersRequest(structure_id=private.id)),
        stub.ListSpaces(pb.ListSpacesRequest(structure_id=public.id)),
        stub.CheckAccess(
            pb.CheckAccessRequest(
                user_id=str(uuid.uuid4()),
                structure_id=public.id,
                space=pb.SPACE_FACTURES_RECUES,
                mode=pb.ACCESS_MODE_CONSULTATION,
            )
        ),
        stub.ListMyMemberships(pb.ListMyMembershipsRequest()),
    ]
    for call in calls:
        assert await failure(call) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
