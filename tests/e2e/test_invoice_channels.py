"""Invoice deposit channels beyond the single file, end to end through the gateway: batch
archives (ZIP, tar.gz) reported per file like an EDI integration report."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from e2e_support import activated_user
from test_invoice_documents import CORPUS, supplier_of, ubl_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_gz_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


async def deposit_batch(api, auth, supplier, archive: bytes, filename="lot.zip"):
    return await api.post(
        "/invoices/batch",
        headers=auth,
        files={"file": (filename, archive, "application/octet-stream")},
        data={"supplier_structure_id": supplier["id"]},
    )


async def test_zip_batch_reports_each_file(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Basile")
    supplier = await supplier_of(api, auth)
    good, number = ubl_for(supplier)
    broken, _ = ubl_for(supplier, "invalid/ubl-br-co-10-line-sum.xml")
    archive = zip_of(
        {
            "../../etc/good.xml": good,
            "broken.xml": broken,
            "same-number.xml": good,
            "inner.zip": zip_of({"x.xml": good}),
            "fake.pdf": (CORPUS / "hostile/fake.pdf").read_bytes(),
        }
    )
    response = await deposit_batch(api, auth, supplier, archive)
    assert response.status_code == 200, response.text
    items = {item["file"]: item for item in response.json()["items"]}
    assert list(items) == ["good.xml", "broken.xml", "same-number.xml", "inner.zip", "fake.pdf"]
    assert items["good.xml"]["status"] == "DEPOSEE"
    assert items["good.xml"]["errors"] == []
    invoice = await api.get(f"/invoices/{items['good.xml']['invoice_id']}", headers=auth)
    assert invoice.status_code == 200 and invoice.json()["number"] == number
    reasons = {name: item["errors"][0]["reason"] for name, item in items.items() if item["errors"]}
    assert reasons == {
        "broken.xml": "EN16931_RULES_FAILED",
        "same-number.xml": "INVOICE_NUMBER_DUPLICATE",
        "inner.zip": "ARCHIVE_NESTED",
        "fake.pdf": "PDF_MALFORMED",
    }
    assert all(items[name]["status"] == "REJETEE" for name in reasons)
    assert any("[BR-CO-10]" in e["message"] for e in items["broken.xml"]["errors"])


async def test_tar_gz_batch_is_read_and_non_archives_refused(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Berthe")
    supplier = await supplier_of(api, auth)
    good, _ = ubl_for(supplier)
    response = await deposit_batch(api, auth, supplier, tar_gz_of({"a/b.xml": good}), "lot.tgz")
    assert response.status_code == 200, response.text
    assert [(i["file"], i["status"]) for i in response.json()["items"]] == [("b.xml", "DEPOSEE")]
    refused = await deposit_batch(api, auth, supplier, good, "lot.zip")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "ARCHIVE_UNSUPPORTED"
    bomb = zip_of({f"f{i}.xml": b"\0" * 9_000_000 for i in range(12)})
    refused = await deposit_batch(api, auth, supplier, bomb, "bomb.zip")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "ARCHIVE_TOO_LARGE"


async def test_several_invoices_download_as_one_zip_all_or_nothing(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Bastien")
    supplier = await supplier_of(api, auth)
    first, _ = ubl_for(supplier)
    second, _ = ubl_for(supplier)
    batch = await deposit_batch(api, auth, supplier, zip_of({"a.xml": first, "b.xml": second}))
    ids = [item["invoice_id"] for item in batch.json()["items"]]
    assert None not in ids, batch.text
    response = await api.post("/invoices/archive", headers=auth, json={"ids": ids + ids[:1]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        assert sorted(bundle.namelist()) == ["a.xml", "b.xml"]
        assert bundle.read("a.xml") == first
    _, _, stranger = await activated_user(api, mailbox, "Blaise")
    hidden = await api.post("/invoices/archive", headers=stranger, json={"ids": ids[:1]})
    assert hidden.status_code == 404, hidden.text
    unknown = "00000000-0000-4000-8000-000000000000"
    partly = await api.post("/invoices/archive", headers=auth, json={"ids": [ids[0], unknown]})
    assert partly.status_code == 404, partly.text
    empty = await api.post("/invoices/archive", headers=auth, json={"ids": []})
    assert empty.status_code == 422, empty.text


async def test_attachment_download_is_404_unless_visible_and_existing(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Brice")
    supplier = await supplier_of(api, auth)
    content, _ = ubl_for(supplier)
    batch = await deposit_batch(api, auth, supplier, zip_of({"a.xml": content}))
    invoice_id = batch.json()["items"][0]["invoice_id"]
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = await api.get(f"/invoices/{invoice_id}/attachments/{unknown}", headers=auth)
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "ATTACHMENT_NOT_FOUND"
    _, _, stranger = await activated_user(api, mailbox, "Berenice")
    hidden = await api.get(f"/invoices/{invoice_id}/attachments/{unknown}", headers=stranger)
    assert hidden.status_code == 404, hidden.text
    assert hidden.json()["code"] == "INVOICE_NOT_FOUND"


async def test_an_erp_retry_with_the_same_idempotency_key_deposits_once(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Erwan")
    supplier = await supplier_of(api, auth)
    ubl, number = ubl_for(supplier)
    key = {"Idempotency-Key": f"erp-{number}"}

    async def deposit(content: bytes):
        return await api.post(
            "/invoices/xml",
            headers={**auth, **key},
            files={"file": ("facture.xml", content, "application/xml")},
            data={"supplier_structure_id": supplier["id"]},
        )

    first, retried = await deposit(ubl), await deposit(ubl)
    assert (first.status_code, retried.status_code) == (201, 201), retried.text
    assert retried.json()["id"] == first.json()["id"]
    listed = await api.get("/invoices", params={"number": number}, headers=auth)
    assert [i["id"] for i in listed.json()["items"]] == [first.json()["id"]]
    other, _ = ubl_for(supplier)
    reused = await deposit(other)
    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
