"""Benchmark of ``CHORUS_FACTURX_RENDERING`` (issue 16); not part of the suite, run explicitly:

    .venv/bin/python -m pytest -p no:cacheprovider -s \
        services/invoices/tests/bench_facturx_rendering.py

With the suite's fixtures (real PostgreSQL and broker, the structures test double over real
gRPC, one document worker, the rendering job running as in a default process), interleaved in
one run: ``queued``, ``on_demand``, twice each, alternating. For each:

1. ``DEPOSITS`` portal deposits (CreateInvoice) by ``CLIENTS`` concurrent gRPC clients: the
   deposit rate, and the time until every Factur-X is stored (``queued``: the job drains the
   queue; ``on_demand``: nothing is rendered until downloaded);
2. ``DOWNLOADS`` first downloads of those invoices one after the other, then the same again:
   mean time of a first download (``on_demand``: it renders) and of a later one (a read).

It prints a table and asserts only that every deposit and download succeeded.
"""

from __future__ import annotations

import asyncio
import time

from chorus.invoices.v1 import invoices_service_pb2 as pb

CLIENTS = 8
DEPOSITS = 160
DOWNLOADS = 20


async def test_facturx_rendering_modes_bench(start_api, settings, parties, make_request):
    figures = []
    for mode in ("queued", "on_demand", "queued", "on_demand"):
        settings.facturx_rendering = mode
        api = await start_api()
        started = time.perf_counter()
        ids = await deposit_all(api, parties, make_request)
        deposited = time.perf_counter() - started
        while mode == "queued" and await api.count("facturx_renderings"):
            await asyncio.sleep(0.05)
        drained = time.perf_counter() - started

        first = [await timed(api, parties, i) for i in ids[:DOWNLOADS]]
        later = [await timed(api, parties, i) for i in ids[:DOWNLOADS]]
        figures.append(
            (
                mode,
                DEPOSITS / deposited,
                drained if mode == "queued" else None,
                1000 * sum(first) / len(first),
                1000 * sum(later) / len(later),
            )
        )
        await api.stop()
    print()
    print("| mode | deposits/s | all PDFs stored after (s) | first download (ms) | later (ms) |")
    print("|---|---|---|---|---|")
    for mode, rate, drained, first_ms, later_ms in figures:
        stored = f"{drained:.1f}" if drained is not None else "— (at first download)"
        print(f"| {mode} | {rate:.1f} | {stored} | {first_ms:.0f} | {later_ms:.0f} |")


async def deposit_all(api, parties, make_request) -> list[str]:
    """``DEPOSITS`` portal deposits by ``CLIENTS`` concurrent clients; their ids."""
    ids: list[str] = []
    todo = iter(range(DEPOSITS))

    async def client() -> None:
        for _ in todo:
            answer = await api.call("CreateInvoice", make_request(parties), parties.user)
            ids.append(answer.invoice.id)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return ids


async def timed(api, parties, invoice_id: str) -> float:
    """Seconds to download the invoice's main document (its Factur-X)."""
    begun = time.perf_counter()
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=invoice_id), parties.user)
    assert document.media_type == "application/pdf"
    return time.perf_counter() - begun
