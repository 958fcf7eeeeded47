"""Sustained throughput (`make bench`), as issue #16 defines it: open-loop load held with no
backlog growing anywhere, on the whole system started by the test.

One throwaway stack (PostgreSQL, embedded broker, SMTP catcher, the services as processes,
default settings); one supplier user and structure deposit to the seeded "Ministère de la
Démonstration". Measured in the same run, so the figures compare with each other (absolute
numbers drift between runs on shared machines):

1. raw: one invoice-shaped INSERT and one outbox-shaped INSERT per transaction on a scratch
   database of the stack's PostgreSQL, ``RAW_CONNECTIONS`` connections; every rate below is
   also given as a ratio to it;
2. for each channel — portal entry through REST (``POST /api/v1/invoices``), portal entry
   through gRPC (``CreateInvoice`` on invoices with the user's token, no gateway), a UBL file
   and a Factur-X file through REST (``POST /api/v1/invoices/xml``) — the highest rate held for
   ``CHORUS_BENCH_HOLD_SECONDS`` (60 s) with no backlog growing (outboxes, invoices not routed,
   consumer lags, e-mails, document queues, requests in flight) and no error, found by doubling
   from ``CHORUS_BENCH_START_RATE`` then bisecting; the stage that saturated first at the lowest
   rate that was not sustained (:mod:`bench_load` and :mod:`bench_backlogs` say how each is
   read and judged);
3. at 50 % of each channel's sustained rate, held as long: p50/p99 of the deposit answer, and
   p99 from the answer (client clock) to the invoice's ``MISE_A_DISPOSITION`` history entry;
4. a tar.gz of ``CHORUS_BENCH_FLOW_INVOICES`` (1,000) UBL invoices through DepositFlow, from the
   deposit to every invoice ``MISE_A_DISPOSITION``.

The load generator runs on the same machine as the system (it takes CPU from it: aiohttp and
grpc.aio keep that small). It prints the issue's table; it asserts only that every accepted
deposit was routed (no timing assertions). The directory-size line has its own, longer bench:
``make bench-directory`` (test_directory_size_bench.py).
"""

from __future__ import annotations

import math
import time

import pytest
import pytest_asyncio
from bench_backlogs import Backlogs, database_url
from bench_load import (
    HOLD_SECONDS,
    MAX_RATE,
    OpenLoop,
    Search,
    Step,
    cpu_text,
    describe,
    find_sustained,
    hold,
    percentile,
    settle,
)
from bench_stack import (
    FLOW_INVOICES,
    Channels,
    deposit_flow,
    invoice_model,
    invoice_numbers,
    machine,
    ms,
    ratio,
    raw_baseline,
    signed_in_supplier,
    wait_routed,
    warm_up,
)
from chorus_devstack.supervisor import Stack
from e2e_support import PUBLIC_RECIPIENT_SIRET

RAW_CONNECTIONS = 8
ROUTING_TIMEOUT = 900

pytestmark = pytest.mark.timeout(6 * 3600)

TARGETS = {
    "portal entry through REST": "≥ 300/s",
    "portal entry through gRPC (no gateway)": "≥ 600/s",
    "UBL file through REST": "≥ 150/s",
    "CII / Factur-X file through REST": "≥ 60/s",
}


@pytest_asyncio.fixture
async def stack(tmp_path_factory):
    stack = Stack(ephemeral=True, ready_timeout=180, logs_dir=tmp_path_factory.mktemp("logs"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_sustained_throughput_per_channel(stack):
    say = print
    raw = await raw_baseline(stack.env["CHORUS_DATABASE_URL"], RAW_CONNECTIONS)
    say(f"\nraw INSERT invoice + outbox, {RAW_CONNECTIONS} connections: {raw:.0f} tx/s")

    auth, supplier, email = await signed_in_supplier(stack)
    channels = Channels(stack, auth, supplier["id"], PUBLIC_RECIPIENT_SIRET, email=email)
    await channels.start()
    backlogs = Backlogs(stack)
    invoices_dsn = database_url(stack, "invoices")
    accepted: list[str] = []
    searches: dict[str, Search] = {}
    at_half: dict[str, Step] = {}
    delays: dict[str, list[float]] = {}
    started = time.perf_counter()
    try:
        loops = {label: OpenLoop(send) for label, send in channels.senders().items()}
        first = OpenLoop(channels.portal_rest)
        first.next_index = 10**8  # numbers the portal channel's own loop never reaches
        warm = await warm_up(first, 1)
        template = await invoice_model(stack, auth, warm[0])
        await channels.prepare_files(template)
        for loop_ in loops.values():
            warm += await warm_up(loop_)
        accepted += warm
        # Each file deposit got its own number (the templates' marker replaced byte for byte).
        numbers = await invoice_numbers(invoices_dsn, warm)
        assert len(set(numbers.values())) == len(warm), numbers
        assert all(n.startswith(channels.tags()) for n in numbers.values()), numbers
        await wait_routed(invoices_dsn, warm, ROUTING_TIMEOUT)
        await backlogs.start()
        say(f"stages watched: {', '.join(s for s, _, _ in backlogs.queries)}")
        say(f"consumer groups: {', '.join(backlogs.groups)}; topics: {', '.join(backlogs.topics)}")

        for label, loop_ in loops.items():
            search = searches[label] = await find_sustained(label, loop_, backlogs)
            accepted += search.accepted
            if search.best is None:
                continue
            step = await hold(loop_, backlogs, search.best.rate / 2, HOLD_SECONDS)
            say(describe(f"{label}, 50 %", step))
            at_half[label] = step
            accepted += step.accepted
            routed = await wait_routed(invoices_dsn, step.accepted, ROUTING_TIMEOUT)
            delays[label] = [
                (routed[a.invoice_id] - a.answered_at).total_seconds()
                for a in step.load.answers
                if a.invoice_id in routed
            ]
            await settle(backlogs, step.baseline)

        flow = None
        if FLOW_INVOICES:
            flow = await deposit_flow(stack, channels.auth, supplier["id"], template, FLOW_INVOICES)
            say(
                f"flow: {flow.invoices} invoices, answered {flow.answered * 1000:.0f} ms, "
                f"IN_INTEGRE {flow.integrated:.1f} s, every MISE_A_DISPOSITION "
                f"{flow.disposed:.1f} s"
            )
        routed = await wait_routed(invoices_dsn, accepted, ROUTING_TIMEOUT)
    finally:
        await backlogs.stop()
        await channels.stop()
    elapsed = time.perf_counter() - started

    if flow is not None:
        assert not flow.refused, flow.refused[:3]
        assert flow.routed == flow.invoices == FLOW_INVOICES
    missing = set(accepted) - set(routed)
    assert not missing, f"{len(missing)} accepted deposits never MISE_A_DISPOSITION"

    rows = [
        (
            f"raw INSERT invoice + outbox row, one tx each, {RAW_CONNECTIONS} connections",
            f"{raw:.0f} tx/s",
            "100 %",
            "—",
            "—",
        ),
    ]
    for label, search in searches.items():
        best, failed = search.best, search.first_failed
        rate = best.rate if best else math.nan
        figure = f"{rate:.1f}/s" if best else "< 1/s"
        if failed is None:
            stage = f"none up to {MAX_RATE:.0f}/s"
        else:
            stage = f"{failed.saturated} (at {failed.rate:.1f}/s)"
        rows.append((f"{label}, sustained", figure, ratio(rate, raw), TARGETS[label], stage))
    if flow is not None:
        flow_rate = flow.invoices / flow.disposed if flow.disposed else math.nan
        rows.append(
            (
                f"{flow.invoices:,}-invoice tar.gz flow, deposit → every invoice "
                "MISE_A_DISPOSITION",
                f"{flow.disposed:.1f} s ({flow_rate:.1f}/s)",
                ratio(flow_rate, raw),
                "≤ 15 s",
                "—",
            )
        )
    # The latency lines are the portal's through REST (else the first channel measured).
    headline = next(
        (label for label in ("portal entry through REST", *at_half) if label in at_half), None
    )
    half = at_half.get(headline)
    answer_times = [a.latency for a in half.load.answers] if half else []
    rows.append(
        (
            "p99 deposit answered → MISE_A_DISPOSITION, at 50 % of the sustained rate"
            f" ({headline})",
            ms(percentile(delays.get(headline, []), 99)),
            "—",
            "< 250 ms",
            "—",
        )
    )
    rows.append(
        (
            f"p99 of the deposit answer itself at 50 % load ({headline})",
            ms(percentile(answer_times, 99)),
            "—",
            "< 100 ms",
            "—",
        )
    )
    rows.append(
        (
            "directory of 150 k structures, 1× / 4× data: deposit rate",
            "make bench-directory",
            "—",
            "within 10 % of each other",
            "—",
        )
    )

    print()
    print(
        f"Sustained throughput (issue #16), hold {HOLD_SECONDS:.0f} s per step, "
        f"{elapsed / 60:.0f} min"
    )
    print(f"  machine: {machine()}")
    print()
    print("| measure | figure | ratio to raw | target | first saturated stage |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("At 50 % of each channel's sustained rate:")
    for label, step in at_half.items():
        answers = [a.latency for a in step.load.answers]
        p50, p99 = (ms(percentile(answers, q)) for q in (50, 99))
        r50, r99 = (ms(percentile(delays[label], q)) for q in (50, 99))
        print(
            f"  {label:40} {step.rate:7.1f}/s  answer p50 {p50}, p99 {p99};  "
            f"answered → MISE_A_DISPOSITION p50 {r50}, p99 {r99}"
        )
    print("Steps, and CPU in % of one core during the hold (where the time goes):")
    for label, search in searches.items():
        print(f"  {label}:")
        for held in sorted(search.steps, key=lambda s: s.rate):
            verdict = "sustained" if held.sustained else f"not sustained: {held.saturated}"
            print(f"    {held.rate:7.1f}/s  {verdict};  CPU {cpu_text(held.cpu)}")
    if flow is not None:
        print(
            f"  flow: DepositFlow answered in {flow.answered * 1000:.0f} ms, IN_INTEGRE after "
            f"{flow.integrated:.1f} s ({flow.archive_bytes / 1024:.0f} KiB)"
        )
    print(f"  service logs: {stack.logs_dir}")
