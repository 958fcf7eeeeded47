"""The metrics endpoint (in a subprocess: the meter provider is process-global) and the gRPC
interceptors (a real server and channel, read through the session's in-memory reader)."""

import asyncio
import json
import sys
from pathlib import Path

import grpc
import pytest
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_devstack.ports import free_port
from chorus_platform import grpc_server
from chorus_platform.grpc_client import open_channel

PROBE = Path(__file__).parent / "probes" / "metrics_probe.py"


async def http_get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    answer = (await asyncio.wait_for(reader.read(), 30)).decode()
    writer.close()
    head, _, body = answer.partition("\r\n\r\n")
    return int(head.split(" ")[1]), body


async def start_probe(port: int, env: dict | None = None):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        str(port),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "", **(env or {})},
    )
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    if not line:
        raise AssertionError((await process.stderr.read()).decode()[-3000:])
    return process, json.loads(line)["port"]


async def stop_probe(process) -> None:
    process.stdin.close()
    await asyncio.wait_for(process.wait(), 30)


async def test_the_endpoint_serves_prometheus_text_with_units_and_the_service_name():
    process, port = await start_probe(free_port())
    try:
        status, body = await http_get(port, "/metrics")
        health = await http_get(port, "/healthz")
        missing = await http_get(port, "/nothing")
        refused = await http_get(port, "/metrics", method="POST")
    finally:
        await stop_probe(process)

    assert status == 200
    assert "# TYPE probe_wait_duration_seconds histogram" in body
    assert (
        'probe_wait_duration_seconds_bucket{le="0.05",service_name="chorus-probe",step="one"} 1.0'
        in body
    )
    assert 'le="0.005"' in body and 'le="10.0"' in body  # seconds buckets
    assert 'probe_things_total{service_name="chorus-probe"} 3.0' in body
    assert "process_cpu_seconds_total" in body
    assert health == (200, "ok\n")
    assert missing[0] == 404
    assert refused[0] == 405


async def test_port_zero_serves_nothing():
    process, port = await start_probe(0)
    await stop_probe(process)

    assert port == 0


async def test_with_the_sdk_disabled_the_endpoint_still_answers_but_records_nothing():
    process, port = await start_probe(free_port(), env={"OTEL_SDK_DISABLED": "true"})
    try:
        status, body = await http_get(port, "/metrics")
        health = await http_get(port, "/healthz")
    finally:
        await stop_probe(process)

    assert (status, body) == (200, "")
    assert health[0] == 200


def points(reader, name: str) -> list:
    data = reader._reader.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def count_of(reader, name: str, **labels: str) -> int:
    return sum(
        point.count
        for point in points(reader, name)
        if all(point.attributes.get(k) == v for k, v in labels.items())
    )


class Servicer(pb_grpc.NotificationsServiceServicer):
    async def GetSealingKey(self, request, context):
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no key here")

    async def ListFeed(self, request, context):
        return pb.ListFeedResponse()


@pytest.fixture
async def running_server():
    app = grpc_server.GrpcApp(
        name="metricstest",
        port=0,
        host="127.0.0.1",
        register=lambda server: (
            pb_grpc.add_NotificationsServiceServicer_to_server(Servicer(), server)
            or ["chorus.notifications.v1.NotificationsService"]
        ),
        reflection=False,
    )
    running = await grpc_server.start(app)
    yield running
    await running.stop()


SERVICE = "chorus.notifications.v1.NotificationsService"


def rpc(method: str, code: str) -> dict[str, str]:
    return {
        "rpc.system": "grpc",
        "rpc.service": SERVICE,
        "rpc.method": method,
        "rpc.grpc.status_code": code,
    }


async def test_grpc_server_and_client_calls_are_timed_with_method_and_status(
    metrics_recorded, running_server
):
    failed, ok = rpc("GetSealingKey", "FAILED_PRECONDITION"), rpc("ListFeed", "OK")
    names = ("rpc.server.call.duration", "rpc.client.call.duration")
    before = {
        (n, m["rpc.method"]): count_of(metrics_recorded, n, **m)
        for n in names
        for m in (failed, ok)
    }

    async with open_channel(f"127.0.0.1:{running_server.port}", 5) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetSealingKey(pb.GetSealingKeyRequest())
        await stub.ListFeed(pb.ListFeedRequest())
        await stub.ListFeed(pb.ListFeedRequest())

    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    for name in names:
        assert count_of(metrics_recorded, name, **failed) == before[name, "GetSealingKey"] + 1
        assert count_of(metrics_recorded, name, **ok) == before[name, "ListFeed"] + 2
