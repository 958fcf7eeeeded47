"""Docker HEALTHCHECK of every Chorus image (see deploy/docker/Dockerfile).

The HTTP services (the gateway, the portal, cpro-api) must answer ``GET /healthz`` with 200; a
gRPC service must answer ``grpc.health.v1.Health/Check`` with SERVING. The port is the one the
service listens on: its ``CHORUS_HTTP_PORT`` / ``CHORUS_GRPC_PORT`` when set, else the image's
default.
Exit status 0 means healthy and 1 unhealthy, as Docker expects. Kubernetes does not use this:
the Helm chart declares native gRPC and HTTP probes.
"""

from __future__ import annotations

import http.client
import os
import sys

TIMEOUT_SECONDS = 3.0
HTTP_SERVICES = ("gateway", "portal", "cpro-api")


def main() -> int:
    service = os.environ["CHORUS_IMAGE_SERVICE"]
    default_port = os.environ["CHORUS_IMAGE_PORT"]
    if service in HTTP_SERVICES:
        return check_http(int(os.environ.get("CHORUS_HTTP_PORT", default_port)))
    return check_grpc(int(os.environ.get("CHORUS_GRPC_PORT", default_port)))


def check_http(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
    except OSError as error:
        print(f"GET /healthz on port {port}: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"GET /healthz on port {port}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


def check_grpc(port: int) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            print(f"gRPC health on port {port}: {error.code().name}", file=sys.stderr)
            return 1
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        print(f"gRPC health on port {port}: {status_name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
