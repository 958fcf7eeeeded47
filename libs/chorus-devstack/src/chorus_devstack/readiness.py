"""When a service is ready: a gRPC service answers ``grpc.health.v1.Health/Check("")`` with
SERVING, an HTTP service answers ``GET /readyz`` with 200. Probes retry every 0.2 s; the caller
bounds them in time."""

from __future__ import annotations

import asyncio

import aiohttp

from chorus_devstack.services import Service


async def probe(service: Service, address: str, last: dict[str, str]) -> None:
    """Return once ``service`` is ready; keep the latest reason it is not in ``last``."""
    if service.kind == "grpc":
        import grpc  # only here: `infra` and `mail` do not pay for importing gRPC
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
                    last[service.name] = f"health {status}"
                except grpc.aio.AioRpcError as exc:
                    last[service.name] = f"gRPC {exc.code().name}"
                await asyncio.sleep(0.2)
    url = f"http://{address}/readyz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
                    last[service.name] = f"GET /readyz → {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last[service.name] = f"GET /readyz: {type(exc).__name__}"
            await asyncio.sleep(0.2)
