"""Graceful drain of a real server process: on SIGTERM, health NOT_SERVING at once while calls
are still served for the shutdown delay, then the process drains and exits 0."""

import asyncio
import signal
import sys
from pathlib import Path

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_devstack.ports import free_port
from chorus_platform.grpc_client import open_channel
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROBE = Path(__file__).parent / "probes" / "drain_probe.py"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health(channel) -> int | None:
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1
        )
    except grpc.aio.AioRpcError:
        return None
    return reply.status


async def wait_for_health(channel, status: int, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while await health(channel) != status:
            await asyncio.sleep(0.05)


async def test_sigterm_reports_not_serving_keeps_serving_for_the_delay_then_exits_0():
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PROBE), str(port), "8", stderr=asyncio.subprocess.PIPE
    )
    channel = open_channel(f"127.0.0.1:{port}", deadline_seconds=5)
    try:
        await wait_for_health(channel, SERVING)
        process.send_signal(signal.SIGTERM)

        await wait_for_health(channel, NOT_SERVING)
        # Not ready any more, but a client that has not heard yet is still served.
        reply = await pb_grpc.NotificationsServiceStub(channel).ListFeed(pb.ListFeedRequest())
        assert reply.next_page_token == "served"
        assert process.returncode is None

        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await channel.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    log = stderr.decode()
    assert log.index("draining: NOT_SERVING") < log.index("shutting down") < log.index("stopped")


async def test_a_second_signal_ends_the_delay():
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(PROBE), str(port), "600", stderr=asyncio.subprocess.PIPE
    )
    channel = open_channel(f"127.0.0.1:{port}", deadline_seconds=5)
    try:
        await wait_for_health(channel, SERVING)
        process.send_signal(signal.SIGTERM)
        await wait_for_health(channel, NOT_SERVING)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)  # not 600 s
    finally:
        await channel.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
