"""Benchmark of the directory read model (issue 16); not part of the suite, run explicitly:

    .venv/bin/python -m pytest -p no:cacheprovider -s services/invoices/tests/bench_directory.py

With the suite's fixtures (real PostgreSQL and broker, the structures test double over real
gRPC), in the same run and interleaved, read model off (``CHORUS_DIRECTORY_MAX_AGE_SECONDS=0``,
every look-up asks structures, as before) then on:

1. ``DEPOSITS`` portal deposits through invoices' gRPC (CreateInvoice, Factur-X rendered in
   the request as today): structures RPCs per deposit by method, and the mean time of a deposit;
2. ``LOOKUPS`` times the look-ups a deposit makes (its supplier by id, its recipient by
   identifier) through the client alone: the mean time of that pair.

The double answers from memory, so the gRPC figures are a floor: the real structures also
reads its database. It prints a table and asserts only that every deposit was accepted.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.events import outgoing
from chorus_invoices.usecases.directory import Directory
from chorus_platform import auth
from chorus_platform.grpc_client import open_channel
from chorus_platform.unit_of_work import UnitOfWork

DEPOSITS = 60
LOOKUPS = 500


async def test_directory_read_model_bench(start_api, settings, parties, make_request, signer):
    figures = {}
    for label, max_age in (("off", 0.0), ("on", 3600.0), ("off again", 0.0)):
        settings.directory_max_age_seconds = max_age
        api = await start_api()
        api.structures.calls.clear()
        await api.call("CreateInvoice", make_request(parties), parties.user)  # warm-up
        warm = dict(api.structures.calls)
        started = time.perf_counter()
        for _ in range(DEPOSITS):
            await api.call("CreateInvoice", make_request(parties), parties.user)
        elapsed = time.perf_counter() - started
        calls = {k: v - warm.get(k, 0) for k, v in api.structures.calls.items()}
        lookup = await _lookup_pair_seconds(api, parties, signer, max_age)
        figures[label] = (calls, elapsed / DEPOSITS, lookup)
        await api.stop()

    print(f"\n{DEPOSITS} portal deposits, then {LOOKUPS} look-up pairs (supplier + recipient)")
    print("| read model | structures RPCs per deposit | ms per deposit | µs per look-up pair |")
    print("|---|---|---|---|")
    for label, (calls, per_deposit, lookup) in figures.items():
        rpcs = ", ".join(f"{k} {v / DEPOSITS:.2f}" for k, v in sorted(calls.items()) if v)
        print(f"| {label} | {rpcs or '0'} | {per_deposit * 1000:.1f} | {lookup * 1e6:.0f} |")
    rows = await api.fetch("SELECT count(*) AS n FROM invoices")
    assert rows[0]["n"] == 3 * (DEPOSITS + 1)


async def _lookup_pair_seconds(api, parties, signer, max_age: float) -> float:
    """Mean time of the supplier (by id) and recipient (by identifier) look-ups."""
    directory = None
    if max_age:
        uow = UnitOfWork(api.pool, service="invoices", encode=outgoing.encode)
        directory = Directory(uow, max_age=timedelta(seconds=max_age))
    principal = auth._principal.set(auth.Principal(str(uuid.uuid4()), "sid", signer.token("u")))
    try:
        async with open_channel(f"127.0.0.1:{api.structures.port}", 5) as channel:
            client = StructuresClient(channel, cache_seconds=5, directory=directory)
            await client.structure(parties.supplier.id)
            await client.find("SIRET", parties.recipient.identifier)
            if directory is not None:
                await directory.settled()
            started = time.perf_counter()
            for _ in range(LOOKUPS):
                await client.structure(parties.supplier.id)
                await client.find("SIRET", parties.recipient.identifier)
            return (time.perf_counter() - started) / LOOKUPS
    finally:
        auth._principal.reset(principal)
