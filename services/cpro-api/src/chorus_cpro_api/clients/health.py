"""Downstream readiness: the standard ``grpc.health.v1`` check of each service."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = "SERVING"
UNREACHABLE = "UNREACHABLE"


async def health_status(channel: grpc.aio.Channel, deadline: float) -> str:
    """The service's overall health status name, or ``UNREACHABLE`` when it does not answer."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
    except grpc.aio.AioRpcError:
        return UNREACHABLE
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
