"""Client-side load balancing over real servers: round_robin spreads a channel's calls over
every address of its target, pick_first does not; and servers close old connections so that
clients connect (and resolve) again."""

import asyncio
import time

import pytest
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server
from chorus_platform.grpc_client import channel_for, open_channel
from chorus_platform.settings import ChorusSettings

CALLS = 200


class Counting(pb_grpc.NotificationsServiceServicer):
    def __init__(self) -> None:
        self.calls = 0
        self.peers: list[str] = []

    async def ListFeed(self, request, context):
        self.calls += 1
        self.peers.append(context.peer())
        return pb.ListFeedResponse()


async def start_server(**options) -> tuple[grpc_server.RunningServer, Counting]:
    servicer = Counting()
    app = grpc_server.GrpcApp(
        name="lb",
        port=0,
        host="127.0.0.1",
        register=lambda s: (pb_grpc.add_NotificationsServiceServicer_to_server(servicer, s), [])[1],
        grace_seconds=1,
        **options,
    )
    return await grpc_server.start(app), servicer


@pytest.fixture
async def two_servers():
    servers = [await start_server(), await start_server()]
    yield servers
    for running, _ in servers:
        await running.stop()


def two_addresses(servers) -> str:
    """One target resolving to both servers, as a dns:/// name of a headless Service does."""
    return "ipv4:" + ",".join(f"127.0.0.1:{running.port}" for running, _ in servers)


async def call(channel, n: int) -> float:
    """Makes ``n`` sequential calls; returns calls per second."""
    stub = pb_grpc.NotificationsServiceStub(channel)
    started = time.perf_counter()
    for _ in range(n):
        await stub.ListFeed(pb.ListFeedRequest())
    return n / (time.perf_counter() - started)


async def test_round_robin_reaches_every_server(two_servers):
    settings = ChorusSettings(notifications_addr=two_addresses(two_servers))
    assert settings.grpc_load_balancing == "round_robin"  # the default
    async with channel_for(settings, "notifications") as channel:
        await call(channel, CALLS)

    counts = [servicer.calls for _, servicer in two_servers]
    assert sum(counts) == CALLS
    assert min(counts) >= CALLS // 4, counts  # both get a fair share (alternating once up)


async def test_pick_first_sticks_to_one_server(two_servers):
    settings = ChorusSettings(
        notifications_addr=two_addresses(two_servers), grpc_load_balancing="pick_first"
    )
    async with channel_for(settings, "notifications") as channel:
        await call(channel, CALLS)

    assert sorted(servicer.calls for _, servicer in two_servers) == [0, CALLS]


async def test_a_server_closes_old_connections_and_the_client_connects_again():
    running, servicer = await start_server(max_connection_age_seconds=0.5)
    try:
        async with open_channel(f"127.0.0.1:{running.port}", 5) as channel:
            await call(channel, 1)
            first = servicer.peers[0]
            async with asyncio.timeout(30):
                while servicer.peers[-1] == first:  # the same connection until it is aged out
                    await asyncio.sleep(0.1)
                    await call(channel, 1)
    finally:
        await running.stop()
    assert servicer.peers[-1] != first  # a new connection: a new client port


async def test_without_a_maximum_age_the_connection_stays():
    running, servicer = await start_server()
    try:
        async with open_channel(f"127.0.0.1:{running.port}", 5) as channel:
            for _ in range(15):
                await call(channel, 1)
                await asyncio.sleep(0.1)
    finally:
        await running.stop()
    assert len(set(servicer.peers)) == 1
