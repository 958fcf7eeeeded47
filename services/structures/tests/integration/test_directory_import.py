"""The public-recipient directory import: bulk, idempotent, all or nothing by default."""

import csv
import uuid

import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_structures.domain.directory import COLUMNS
from chorus_structures.domain.directory_file import DirectoryFileInvalid, ImportReport, read_rows
from chorus_structures.seed.directory import import_directory
from chorus_structures.seed.generator import generate_file

from .conftest import random_siret


def write(path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def row(siret: str, **fields) -> dict:
    return {
        "siret": siret,
        "raison_sociale": "Commune de Test",
        "libelle": "Mairie",
        "address_line1": "1 place de la Mairie",
        "postal_code": "74000",
        "city": "Annecy",
        "services": '[{"code": "FIN", "name": "Finances", "engagement_required": true},'
        ' {"code": "FACTURES_PUBLIQUES", "name": "Factures publiques"}]',
        **fields,
    }


async def counts(pool) -> tuple[int, int, int]:
    return tuple(
        await pool.fetchrow(
            "SELECT (SELECT count(*) FROM structures), (SELECT count(*) FROM structure_services),"
            " (SELECT count(*) FROM spaces)"
        )
    )


async def test_generated_directory_imports_once_and_again_changes_nothing(pool, tmp_path):
    path = tmp_path / "annuaire.csv"
    generate_file(path, 300, seed=7)

    first = await import_directory(pool, path)
    after_first = await counts(pool)
    second = await import_directory(pool, path)

    assert (first.read, first.created, first.updated) == (300, 300, 0)
    assert first.services == after_first[1] > 300
    assert (second.created, second.updated, second.services) == (0, 0, 0)
    assert await counts(pool) == after_first
    # Spaces keep the defaults of public structures, which are not recorded.
    assert after_first[2] == 0
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1",
        events.DirectoryImported.DESCRIPTOR.full_name,
    )
    [event] = [events.DirectoryImported.FromString(r["payload"]) for r in rows]
    assert (event.source, event.structures_created) == ("annuaire.csv", 300)


async def test_generator_is_reproducible_and_every_row_is_valid(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    generate_file(first, 500, seed=3)
    generate_file(second, 500, seed=3)
    assert first.read_bytes() == second.read_bytes()
    report = ImportReport()
    with first.open(encoding="utf-8", newline="") as lines:
        assert len(read_rows(lines, report)) == 500
    assert report.errors == []


async def test_changed_rows_are_updated_and_structures_of_users_left_alone(
    pool, tmp_path, stub, as_user, create_request
):
    directory_siret = random_siret()
    user_structure = (
        await stub.CreateStructure(create_request(raison_sociale="Ma SARL"), metadata=as_user)
    ).structure
    path = tmp_path / "annuaire.csv"
    write(path, [row(directory_siret), row(user_structure.identifier)])
    await import_directory(pool, path)

    write(
        path,
        [
            row(
                directory_siret, raison_sociale="Commune nouvelle de Test", engagement_required="1"
            ),
            row(user_structure.identifier, raison_sociale="Piratage"),
        ],
    )
    report = await import_directory(pool, path)

    assert (report.created, report.updated) == (0, 1)
    found = await stub.FindStructureByIdentifier(
        pb.FindStructureByIdentifierRequest(
            identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=directory_siret
        ),
        metadata=as_user,
    )
    imported = found.structure
    assert imported.raison_sociale == "Commune nouvelle de Test"
    assert imported.kind == pb.STRUCTURE_KIND_PUBLIQUE
    assert imported.routing.engagement_required
    assert [
        (s.code, s.engagement_required, s.reserved_for_public_suppliers) for s in imported.services
    ] == [
        ("FACTURES_PUBLIQUES", False, True),
        ("FIN", True, False),
    ]
    mine = await stub.GetStructure(
        pb.GetStructureRequest(structure_id=user_structure.id), metadata=as_user
    )
    assert mine.structure.raison_sociale == "Ma SARL"
    assert mine.structure.services == []


async def test_a_file_with_bad_rows_is_refused_unless_told_to_skip_them(pool, tmp_path):
    good = random_siret()
    path = tmp_path / "annuaire.csv"
    write(
        path,
        [
            row(good),
            row("12345678901234"),
            row(random_siret(), raison_sociale=""),
            row(random_siret(), services="pas du json"),
            row(good),
        ],
    )

    with pytest.raises(DirectoryFileInvalid) as caught:
        await import_directory(pool, path)
    assert [line for line, _ in caught.value.errors] == [3, 4, 5, 6]
    assert "SIRET invalide" in str(caught.value)
    assert (await counts(pool))[0] == 0

    report = await import_directory(pool, path, skip_invalid=True)
    assert (report.created, len(report.errors)) == (1, 4)


async def test_unknown_columns_are_refused(pool, tmp_path):
    path = tmp_path / "annuaire.csv"
    path.write_text("siret,raison_social,address_line1,postal_code,city\n", encoding="utf-8")
    with pytest.raises(DirectoryFileInvalid) as caught:
        await import_directory(pool, path)
    assert "raison_sociale" in str(caught.value) and "raison_social" in str(caught.value)


async def test_imported_structure_is_claimed_then_managed(pool, tmp_path, stub, signer):
    siret = random_siret()
    path = tmp_path / "annuaire.csv"
    write(path, [row(siret)])
    await import_directory(pool, path)
    structure_id = await pool.fetchval("SELECT id FROM structures WHERE identifier = $1", siret)
    first, second = (signer.metadata(str(uuid.uuid4())) for _ in range(2))

    claimed = await stub.RequestAttachment(
        pb.RequestAttachmentRequest(structure_id=str(structure_id)), metadata=first
    )
    pending = await stub.RequestAttachment(
        pb.RequestAttachmentRequest(structure_id=str(structure_id)), metadata=second
    )

    assert claimed.request.granted_role == pb.ROLE_GESTIONNAIRE_PRINCIPAL
    assert pending.request.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
    # A public structure receives invoices by default.
    check = await stub.CheckAccess(
        pb.CheckAccessRequest(
            structure_id=str(structure_id),
            space=pb.SPACE_FACTURES_RECUES,
            mode=pb.ACCESS_MODE_MODIFICATION,
        ),
        metadata=first,
    )
    assert check.allowed
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.ListAttachmentRequests(
            pb.ListAttachmentRequestsRequest(structure_id=str(structure_id)), metadata=second
        )
