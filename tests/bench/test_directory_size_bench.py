"""Deposit rate against the directory's size (`make bench-directory`, not in `make bench`: it
imports 600,000 structures): issue #16's "directory of 150 k structures, 1× / 4× data".

One throwaway stack (as the sustained bench starts it). The public-recipient directory is
loaded through structures' own import path — ``import_directory``, what ``chorus-structures
import-directory`` runs: CSV read and checked, COPY into staging, set-based upserts — with a
generated CSV of 150,000 structures, then with one of 600,000 whose first 150,000 rows are the
same ones (same generator seed; they are left unchanged and 450,000 are added). At each size,
after ``ANALYZE``:

1. the highest sustained rate of portal entry through REST (``POST /api/v1/invoices``), found
   as in the sustained bench (open loop, no backlog growing, no error), each step held
   ``CHORUS_BENCH_DIRECTORY_HOLD_SECONDS`` (15 s), one more bisection than there;
2. the deposit answer's p50/p99 at one fixed rate, the same at both sizes (half the rate
   sustained at 150 k).

It prints both sizes side by side and the 4× / 1× ratio (the target: within 10 %); it asserts
only what the imports must have done and that every accepted deposit was routed.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import pytest_asyncio
from bench_backlogs import Backlogs, database_url
from bench_load import (
    BISECT_STEPS,
    MIN_RATE,
    OpenLoop,
    describe,
    find_sustained,
    hold,
    percentile,
    settle,
)
from bench_stack import (
    Channels,
    invoice_model,
    machine,
    ms,
    signed_in_supplier,
    wait_routed,
    warm_up,
)
from chorus_devstack.supervisor import Stack
from chorus_platform.db import create_pool
from chorus_structures.seed.directory import import_directory
from chorus_structures.seed.generator import generate_file
from e2e_support import PUBLIC_RECIPIENT_SIRET

STRUCTURES = int(os.environ.get("CHORUS_BENCH_DIRECTORY_STRUCTURES", "150000"))
SCALE = 4
SEED = 42
HOLD = float(os.environ.get("CHORUS_BENCH_DIRECTORY_HOLD_SECONDS", "15"))
ROUTING_TIMEOUT = 900

pytestmark = pytest.mark.timeout(4 * 3600)


@pytest_asyncio.fixture
async def stack(tmp_path_factory):
    stack = Stack(ephemeral=True, ready_timeout=180, logs_dir=tmp_path_factory.mktemp("logs"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def load_directory(stack, path) -> tuple[float, int]:
    """Imports ``path`` into the stack's structures database: (seconds, structures there)."""
    pool = await create_pool(database_url(stack, "structures"), max_size=2)
    try:
        start = time.perf_counter()
        await import_directory(pool, path)
        elapsed = time.perf_counter() - start
        await pool.execute("ANALYZE")
        return elapsed, await pool.fetchval("SELECT count(*) FROM structures")
    finally:
        await pool.close()


async def test_deposit_rate_with_the_directory_at_one_and_four_times(stack, tmp_path):
    small, large = tmp_path / "annuaire_1x.csv", tmp_path / "annuaire_4x.csv"
    await asyncio.to_thread(generate_file, small, STRUCTURES, SEED)
    await asyncio.to_thread(generate_file, large, STRUCTURES * SCALE, SEED)

    auth, supplier, email = await signed_in_supplier(stack)
    channels = Channels(stack, auth, supplier["id"], PUBLIC_RECIPIENT_SIRET, email=email)
    await channels.start()
    backlogs = Backlogs(stack)
    invoices_dsn = database_url(stack, "invoices")
    loop_ = OpenLoop(channels.portal_rest)
    accepted: list[str] = []
    sizes: dict[int, dict] = {}
    try:
        accepted += await warm_up(loop_)
        await invoice_model(stack, auth, accepted[0])  # the document worker is warm too
        await wait_routed(invoices_dsn, accepted, ROUTING_TIMEOUT)
        await backlogs.start()
        fixed_rate = None
        for path in (small, large):
            seconds, count = await load_directory(stack, path)
            await settle(backlogs, await backlogs.sample())
            label = f"portal REST, {count:,} structures"
            search = await find_sustained(
                label, loop_, backlogs, HOLD, bisect_steps=BISECT_STEPS + 1
            )
            accepted += search.accepted
            best = search.best
            if fixed_rate is None:
                fixed_rate = max(MIN_RATE, (best.rate if best else 2.0) / 2)
            fixed = await hold(loop_, backlogs, fixed_rate, HOLD)
            print(describe(f"{label}, fixed load", fixed))
            accepted += fixed.accepted
            answers = [a.latency for a in fixed.load.answers]
            sizes[count] = {
                "import": seconds,
                "rate": best.rate if best else float("nan"),
                "saturated": search.first_failed.saturated if search.first_failed else "—",
                "p50": percentile(answers, 50),
                "p99": percentile(answers, 99),
                "errors": len(fixed.load.errors),
            }
            await settle(backlogs, fixed.baseline)
        routed = await wait_routed(invoices_dsn, accepted, ROUTING_TIMEOUT)
    finally:
        await backlogs.stop()
        await channels.stop()

    counts = sorted(sizes)
    assert len(counts) == 2 and counts[1] - counts[0] == STRUCTURES * (SCALE - 1), counts
    missing = set(accepted) - set(routed)
    assert not missing, f"{len(missing)} accepted deposits never MISE_A_DISPOSITION"

    one, four = (sizes[c] for c in counts)
    print()
    print(f"Directory size and deposit rate (issue #16), hold {HOLD:.0f} s per step")
    print(f"  machine: {machine()}")
    print("  directory loaded with structures' CSV import (import_directory), then ANALYZE")
    print()
    print(f"| measure | {counts[0]:,} structures | {counts[1]:,} structures | 4× / 1× | target |")
    print("|---|---|---|---|---|")
    print(f"| directory import | {one['import']:.1f} s | {four['import']:.1f} s | — | — |")
    print(
        f"| portal entry through REST, sustained | {one['rate']:.1f}/s | {four['rate']:.1f}/s "
        f"| {four['rate'] / one['rate'] * 100:.1f} % | within 10 % of each other |"
    )
    print(f"| first saturated stage | {one['saturated']} | {four['saturated']} | — | — |")
    print(
        f"| deposit answer at {fixed_rate:.1f}/s, p50 / p99 | {ms(one['p50'])} / "
        f"{ms(one['p99'])} | {ms(four['p50'])} / {ms(four['p99'])} | "
        f"{four['p50'] / one['p50'] * 100:.1f} % (p50) | — |"
    )
    print(f"  service logs: {stack.logs_dir}")
