"""Documents on an S3-compatible store (``CHORUS_DOCUMENT_STORE=s3``), against a real S3 HTTP
server (moto's, in a thread of this process, on a free port): the invoices server over gRPC
keeps contents as objects and rows in PostgreSQL, checks every read against the SHA-256,
stores an on-demand Factur-X once, purges what may go, and answers UNAVAILABLE (never
INTERNAL) and NOT_SERVING when the storage is unreachable.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_devstack.ports import free_port
from chorus_invoices.domain.attachments import AttachmentUpload
from chorus_invoices.main import close_store, document_store
from chorus_invoices.store.documents import PostgresDocumentStore
from chorus_invoices.usecases.attachments import add_attachments
from chorus_invoices.usecases.document_purge import DocumentPurge
from chorus_platform.unit_of_work import UnitOfWork
from grpc_health.v1 import health_pb2, health_pb2_grpc
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

KEY_ID, SECRET = "chorus-test-key", "chorus-test-secret-never-logged"


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3 HTTP server for the module (moto), on a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    """A synchronous client of that server, to look at (and tamper with) the bucket."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


@pytest.fixture
def bucket(s3) -> str:
    """A fresh bucket per test."""
    name = f"chorus-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_endpoint_url(s3_endpoint) -> str:
    """Where the service looks for the storage (a test parametrizes it elsewhere)."""
    return s3_endpoint


@pytest.fixture
def facturx_rendering() -> str:
    """The rendering mode (a test parametrizes it)."""
    return "on_demand"


@pytest.fixture
def settings(settings, s3_endpoint_url, bucket, facturx_rendering):
    """The conftest's settings with the S3 store on this test's bucket."""
    return settings.model_copy(
        update={
            "facturx_rendering": facturx_rendering,
            "document_store": "s3",
            "s3_endpoint_url": s3_endpoint_url,
            "s3_bucket": bucket,
            "s3_access_key_id": SecretStr(KEY_ID),
            "s3_secret_access_key": SecretStr(SECRET),
        }
    )


def objects(s3, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed
    }


async def deposit(api, parties, make_request) -> pb.Invoice:
    return (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice


async def download(api, user: str, invoice_id: str, role: str = ""):
    request = pb.GetInvoiceDocumentRequest(invoice_id=invoice_id, role=role)
    return await api.call("GetInvoiceDocument", request, user)


async def attach(api, settings, invoice_id: str, uploads) -> list:
    """add_attachments with the store the settings name, in a transaction."""
    store = document_store(settings)
    try:
        async with api.pool.acquire() as conn, conn.transaction():
            return await add_attachments(conn, invoice_id, uploads, store=store)
    finally:
        await close_store(store)


async def health(api) -> int:
    stub = health_pb2_grpc.HealthStub(api.channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=""))).status


async def wait_health(api, expected: int) -> None:
    async with asyncio.timeout(30):
        while await health(api) != expected:
            await asyncio.sleep(0.1)


async def test_documents_round_trip_through_the_bucket_rows_keep_metadata(
    api, parties, make_request, s3, bucket, settings
):
    await wait_health(api, health_pb2.HealthCheckResponse.SERVING)
    invoice = await deposit(api, parties, make_request)
    [info] = await attach(api, settings, invoice.id, [AttachmentUpload("note.csv", b"a;b\n1;2\n")])

    rows = await api.fetch(
        "SELECT id, role, size, sha256, content, object_key FROM documents"
        " WHERE invoice_id = $1 ORDER BY role",
        invoice.id,
    )
    assert [row["role"] for row in rows] == ["ATTACHMENT", "CII"]
    stored = objects(s3, bucket)
    for row in rows:
        assert row["content"] is None
        assert row["object_key"] == f"documents/{row['id']}"
        content = stored[row["object_key"]]
        assert (len(content), hashlib.sha256(content).hexdigest()) == (row["size"], row["sha256"])

    xml = await download(api, parties.user, invoice.id, "CII")
    assert xml.content == stored[f"documents/{rows[1]['id']}"]
    assert xml.content.startswith(b"<?xml")
    served = await api.call(
        "GetInvoiceAttachment",
        pb.GetInvoiceAttachmentRequest(invoice_id=invoice.id, document_id=info.id),
        parties.user,
    )
    assert served.content == b"a;b\n1;2\n"


async def test_the_first_downloads_render_the_facturx_once_into_the_bucket(
    api, parties, make_request, s3, bucket
):
    invoice = await deposit(api, parties, make_request)

    one, two = await asyncio.gather(
        download(api, parties.user, invoice.id), download(api, parties.user, invoice.id)
    )

    assert one.content == two.content and one.content.startswith(b"%PDF")
    [row] = await api.fetch(
        "SELECT id, content, object_key FROM documents WHERE invoice_id = $1 AND role = 'FACTURX'",
        invoice.id,
    )
    assert row["content"] is None
    stored = objects(s3, bucket)
    assert stored[row["object_key"]] == one.content
    # One row, one object: a download that lost the race deleted its own copy.
    keys = {r["object_key"] for r in await api.fetch("SELECT object_key FROM documents")}
    assert set(stored) == keys
    again = await download(api, parties.user, invoice.id)
    assert again.content == one.content


@pytest.mark.parametrize("facturx_rendering", ["queued"])
async def test_the_rendering_job_stores_the_facturx_in_the_bucket(
    api, parties, make_request, s3, bucket
):
    invoice = await deposit(api, parties, make_request)

    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user)

    assert document.content.startswith(b"%PDF")
    [row] = await api.fetch(
        "SELECT object_key FROM documents WHERE invoice_id = $1 AND role = 'FACTURX'", invoice.id
    )
    assert objects(s3, bucket)[row["object_key"]] == document.content


async def test_an_altered_or_missing_object_is_refused_never_served(
    api, parties, make_request, s3, bucket, caplog
):
    invoice = await deposit(api, parties, make_request)
    [row] = await api.fetch(
        "SELECT object_key FROM documents WHERE invoice_id = $1 AND role = 'CII'", invoice.id
    )
    original = s3.get_object(Bucket=bucket, Key=row["object_key"])["Body"].read()
    altered = original.replace(b"EUR", b"USD")
    assert altered != original and len(altered) == len(original)
    s3.put_object(Bucket=bucket, Key=row["object_key"], Body=altered)

    error = await api.fails(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role="CII"),
        parties.user,
    )

    assert (error.code, error.reason) == (grpc.StatusCode.DATA_LOSS, "DOCUMENT_CORRUPTED")
    assert "ne correspond plus à son empreinte" in error.message
    [logged] = [r for r in caplog.records if "does not match its checksum" in r.getMessage()]
    assert (logged.invoice_id, logged.object_key) == (invoice.id, row["object_key"])

    s3.delete_object(Bucket=bucket, Key=row["object_key"])
    error = await api.fails(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role="CII"),
        parties.user,
    )
    assert (error.code, error.reason) == (grpc.StatusCode.DATA_LOSS, "DOCUMENT_CORRUPTED")
    # Nor rendered from it: the Factur-X would embed what cannot be trusted.
    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert error.code == grpc.StatusCode.DATA_LOSS


async def test_purge_deletes_expired_documents_expired_staged_files_and_orphans(
    api, parties, make_request, s3, bucket, settings
):
    old = await deposit(api, parties, make_request)
    await download(api, parties.user, old.id)  # its Factur-X rendered and kept
    recent = await deposit(api, parties, make_request)
    await api.fetch(
        "UPDATE invoices SET updated_at = now() - interval '11 years' WHERE id = $1", old.id
    )
    staged = await api.call(
        "StageAttachment",
        pb.StageAttachmentRequest(
            file=pb.AttachmentFile(filename="bon.pdf", content=b"%PDF-1.4 bon"),
            supplier_structure_id=parties.supplier.id,
        ),
        parties.user,
    )
    kept_staged = await api.call(
        "StageAttachment",
        pb.StageAttachmentRequest(
            file=pb.AttachmentFile(filename="autre.pdf", content=b"%PDF-1.4 autre"),
            supplier_structure_id=parties.supplier.id,
        ),
        parties.user,
    )
    await api.fetch(
        "UPDATE staged_attachments SET expires_at = now() - interval '1 minute' WHERE id = $1",
        staged.staged_attachment_id,
    )
    await api.fetch(
        "UPDATE staged_attachments SET expires_at = now() + interval '1 day' WHERE id = $1",
        kept_staged.staged_attachment_id,
    )
    s3.put_object(Bucket=bucket, Key=f"documents/{uuid.uuid4()}", Body=b"rolled back")
    old_keys = {
        r["object_key"]
        for r in await api.fetch("SELECT object_key FROM documents WHERE invoice_id = $1", old.id)
    }
    recent_keys = {
        r["object_key"]
        for r in await api.fetch(
            "SELECT object_key FROM documents WHERE invoice_id = $1", recent.id
        )
    }
    assert len(old_keys) == 2 and len(recent_keys) == 1
    before = set(objects(s3, bucket))
    assert len(before) == 4
    # Objects written now are orphans to a purge run two hours from now (their age counts).
    later = datetime.now(UTC) + timedelta(hours=2)

    # The command, dry run: counts printed, nothing changed.
    printed = run_command(settings, "purge-documents", "--dry-run")
    assert "expired documents: would delete 2 (of 1 invoices)" in printed
    assert "staged uploads never attached: would delete 1" in printed
    assert "orphan objects: would delete 0" in printed  # none an hour old yet
    store = document_store(settings)
    purge = DocumentPurge(
        UnitOfWork(api.pool, service="invoices"),
        store,
        retention=timedelta(days=settings.document_retention_days),
        batch_size=1,  # every sweep in several batches
    )
    counts = await purge.run(dry_run=True, now=later)
    assert (counts.expired_documents, counts.staged, counts.orphan_objects) == (2, 1, 1)
    assert set(objects(s3, bucket)) == before
    assert await api.count("documents") == 3 and await api.count("staged_attachments") == 2

    counts = await purge.run(now=later)

    assert (counts.expired_invoices, counts.expired_documents) == (1, 2)
    assert (counts.staged, counts.orphan_objects) == (1, 1)
    assert set(objects(s3, bucket)) == recent_keys
    [row] = await api.fetch("SELECT documents_purged_at FROM invoices WHERE id = $1", old.id)
    assert row["documents_purged_at"] is not None  # the invoice is kept
    staged_left = await api.fetch("SELECT id FROM staged_attachments")
    assert [str(r["id"]) for r in staged_left] == [kept_staged.staged_attachment_id]
    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=old.id), parties.user
    )
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "DOCUMENTS_PURGED")
    assert (await download(api, parties.user, recent.id, "CII")).content.startswith(b"<?xml")

    # Idempotent: nothing left to do.
    counts = await purge.run(now=later)
    assert (counts.expired_documents, counts.staged, counts.orphan_objects) == (0, 0, 0)
    await close_store(store)


def run_command(settings, *args: str) -> str:
    """``chorus-invoices <args>`` in a process of its own, configured by environment."""
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": settings.database_url,
        "CHORUS_DATABASE_NAME": settings.database_name,
        "CHORUS_DOCUMENT_STORE": "s3",
        "CHORUS_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "CHORUS_S3_BUCKET": settings.s3_bucket,
        "CHORUS_S3_ACCESS_KEY_ID": KEY_ID,
        "CHORUS_S3_SECRET_ACCESS_KEY": SECRET,
        "CHORUS_EVENT_LOOP": "asyncio",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "chorus-invoices"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("s3_endpoint_url", [f"http://127.0.0.1:{free_port()}"])
async def test_an_unreachable_storage_is_not_ready_and_a_deposit_answers_unavailable(
    api, parties, make_request, caplog
):

    await wait_health(api, health_pb2.HealthCheckResponse.NOT_SERVING)
    await asyncio.sleep(3)  # a readiness round or more: still not serving
    assert await health(api) == health_pb2.HealthCheckResponse.NOT_SERVING
    error = await api.fails("CreateInvoice", make_request(parties), parties.user)

    assert (error.code, error.reason) == (
        grpc.StatusCode.UNAVAILABLE,
        "DOCUMENT_STORE_UNAVAILABLE",
    )
    assert error.metadata.get("retry_after_seconds") == "5"
    assert await api.count("invoices") == 0  # nothing kept: the transaction rolled back
    assert SECRET not in caplog.text


async def test_documents_kept_in_postgres_before_the_switch_stay_readable(
    api, parties, make_request
):
    invoice = await deposit(api, parties, make_request)
    async with api.pool.acquire() as conn, conn.transaction():
        [info] = await add_attachments(
            conn,
            invoice.id,
            [AttachmentUpload("avant.csv", b"x;y\n")],
            store=PostgresDocumentStore(),
        )

    served = await api.call(
        "GetInvoiceAttachment",
        pb.GetInvoiceAttachmentRequest(invoice_id=invoice.id, document_id=info.id),
        parties.user,
    )

    assert served.content == b"x;y\n"
    [row] = await api.fetch("SELECT object_key FROM documents WHERE id = $1", info.id)
    assert row["object_key"] is None
