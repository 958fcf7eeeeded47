"""The answers that must not tell whether an account exists: registration, activation link
resend and password reset request answer alike, and take comparable time.

The timing figures are printed, never asserted (run with ``-s`` to see them): each request
kind is timed for every kind of address, without the floor (the work itself) and with the
default floor (what a client sees), interleaved so that the machine's drift hits all alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta

import asyncpg
import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.config import IdentitySettings
from chorus_identity.usecases.uniform_answers import lasting_at_least

from .conftest import Flows, migrated_database, serving

SAMPLES = 25
DEFAULT_FLOOR_MS = IdentitySettings.model_fields["anonymous_answer_min_ms"].default


async def test_a_block_lasts_at_least_the_floor_whether_it_returns_or_raises():
    floor = timedelta(milliseconds=50)
    started = time.monotonic()
    async with lasting_at_least(floor):
        pass
    returned = time.monotonic() - started

    started = time.monotonic()
    with pytest.raises(LookupError):
        async with lasting_at_least(floor):
            raise LookupError
    raised = time.monotonic() - started

    # Lower bounds only: a sleep never ends early, so these cannot fail by chance.
    assert returned >= 0.05 and raised >= 0.05


async def test_a_cancelled_block_is_not_padded():
    entered = asyncio.Event()

    async def request() -> None:
        async with lasting_at_least(timedelta(hours=1)):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(request())
    await entered.wait()
    task.cancel()
    # Padded, the task would sleep an hour and wait_for would time out.
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)


def figures(samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"median {statistics.median(samples):7.2f} ms  p90 {p90:7.2f} ms"


async def timed(call) -> float:
    started = time.perf_counter()
    await call
    return (time.perf_counter() - started) * 1000


async def addresses(flows: Flows) -> dict[str, list[str]]:
    """``SAMPLES`` addresses of each kind a prober could try, each used for one round."""
    return {
        "unknown": [flows.new_email() for _ in range(SAMPLES)],
        "pending": [(await flows.register()).login_email for _ in range(SAMPLES)],
        "active": [(await flows.active_user()).login_email for _ in range(SAMPLES)],
    }


async def measure(flows: Flows) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per request kind and address kind."""
    by_kind = await addresses(flows)
    stub = flows.stub
    results: dict[str, dict[str, list[float]]] = {"register": {}, "resend": {}, "reset": {}}
    for i in range(SAMPLES):
        for kind, emails in by_kind.items():
            email = emails[i]
            # Registration last: it turns an unknown address into a pending one.
            resend = stub.ResendActivation(pb.ResendActivationRequest(login_email=email))
            results["resend"].setdefault(kind, []).append(await timed(resend))
            reset = stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=email))
            results["reset"].setdefault(kind, []).append(await timed(reset))
            register = stub.RegisterAccount(
                pb.RegisterAccountRequest(
                    login_email=email, first_name="Jean", last_name="Dupont", terms_accepted=True
                )
            )
            results["register"].setdefault(kind, []).append(await timed(register))
    return results


@pytest.mark.parametrize("floor_ms", [0, DEFAULT_FLOOR_MS], ids=["no-floor", "default-floor"])
async def test_registration_resend_and_reset_take_comparable_time_for_every_address(
    postgres_server, kafka_broker, floor_ms
):
    settings = (await migrated_database(postgres_server, kafka_broker)).model_copy(
        update={"anonymous_answer_min_ms": floor_ms}
    )
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        async with serving(settings) as channel:
            results = await measure(Flows(settings, channel, conn))
    finally:
        await conn.close()

    print(f"\nanonymous answers, floor {floor_ms} ms, {SAMPLES} samples each (interleaved):")
    for request, by_kind in results.items():
        for kind, samples in by_kind.items():
            print(f"  {request:8} {kind:8} {figures(samples)}")
    # What is asserted is the floor's lower bound, never an upper one.
    every_sample = [s for by_kind in results.values() for v in by_kind.values() for s in v]
    assert min(every_sample) >= floor_ms
