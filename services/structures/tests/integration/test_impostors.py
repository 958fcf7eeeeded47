"""Impostor structures (#13): a SIRET's digits under a free identifier type are refused at
creation; rows registered so before the rule stay, and search results tell them apart (their
identifier type, and whether anybody manages them)."""

import uuid

import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error

from .conftest import random_siret


async def refusal(call):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return from_rpc_error(caught.value)


async def structure_count(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM structures")


@pytest.mark.parametrize(
    "identifier_type", [pb.IDENTIFIER_TYPE_AUTRE, pb.IDENTIFIER_TYPE_PARTICULIER]
)
@pytest.mark.parametrize("shape", ["siret", "siret spaced", "siren dotted"])
async def test_a_siret_or_siren_under_a_free_type_is_refused_and_nothing_is_created(
    stub, as_user, create_request, pool, identifier_type, shape
):
    siret = random_siret()
    raw = {
        "siret": siret,
        "siret spaced": f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}",
        "siren dotted": f"{siret[:3]}.{siret[3:6]}.{siret[6:9]}",
    }[shape]
    before = await structure_count(pool)

    error = await refusal(
        stub.CreateStructure(
            create_request(identifier_type=identifier_type, identifier=raw), metadata=as_user
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "IDENTIFIER_SIRENE_SHAPED"
    assert [v.field for v in error.violations] == ["identifier"]
    assert "Choisissez le type d'identifiant SIRET" in error.violations[0].description
    assert await structure_count(pool) == before


async def test_the_same_siret_under_the_siret_type_is_still_created(stub, as_user, create_request):
    siret = random_siret()
    created = await stub.CreateStructure(create_request(identifier=siret), metadata=as_user)
    assert created.structure.identifier_type == pb.IDENTIFIER_TYPE_SIRET
    assert created.structure.identifier == siret


async def test_other_free_identifiers_are_still_created_under_autre(stub, as_user, create_request):
    created = await stub.CreateStructure(
        create_request(identifier_type=pb.IDENTIFIER_TYPE_AUTRE, identifier="ASSO W751234567"),
        metadata=as_user,
    )
    assert created.structure.identifier == "ASSO W751234567"


async def test_search_results_carry_the_type_and_whether_someone_manages_the_structure(
    stub, as_user, user_id, signer, create_request, pool
):
    siret = random_siret()
    genuine = (
        await stub.CreateStructure(
            create_request(identifier=siret, raison_sociale="Menuiserie Martin"), metadata=as_user
        )
    ).structure
    # An impostor registered before the rule: same digits and name under AUTRE, its
    # creator gone (nobody manages it).
    impostor_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO structures (id, identifier_type, identifier, raison_sociale, kind,"
        " address_line1, postal_code, city, country)"
        " VALUES ($1, 'AUTRE', $2, 'Menuiserie Martin', 'PRIVEE', '1 rue', '69003', 'Lyon', 'FR')",
        impostor_id,
        siret,
    )
    await pool.execute(
        "INSERT INTO memberships (structure_id, user_id, role) VALUES ($1, $2, 'UTILISATEUR')",
        impostor_id,
        uuid.UUID(user_id),
    )

    found = await stub.SearchStructures(
        pb.SearchStructuresRequest(name="menuiserie martin"), metadata=as_user
    )
    by_id = {s.id: s for s in found.structures}
    assert (by_id[genuine.id].identifier_type, by_id[genuine.id].has_principal_manager) == (
        pb.IDENTIFIER_TYPE_SIRET,
        True,
    )
    assert (
        by_id[str(impostor_id)].identifier_type,
        by_id[str(impostor_id)].has_principal_manager,
    ) == (pb.IDENTIFIER_TYPE_AUTRE, False)

    # The exact look-up someone else does (to ask to join) says the same; the old row stays
    # reachable under its own type.
    other = signer.metadata(str(uuid.uuid4()))
    exact = await stub.SearchStructures(
        pb.SearchStructuresRequest(identifier_type=pb.IDENTIFIER_TYPE_AUTRE, identifier=siret),
        metadata=other,
    )
    assert [(s.id, s.has_principal_manager) for s in exact.structures] == [
        (str(impostor_id), False)
    ]
    numbered = await stub.SearchStructures(
        pb.SearchStructuresRequest(identifier=siret, page_number=1, page_size=10), metadata=other
    )
    assert {(s.identifier_type, s.has_principal_manager) for s in numbered.structures} == {
        (pb.IDENTIFIER_TYPE_SIRET, True),
        (pb.IDENTIFIER_TYPE_AUTRE, False),
    }
