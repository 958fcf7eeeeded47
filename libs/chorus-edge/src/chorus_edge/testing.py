"""In-process grpc.aio stand-ins for the four services, for the tests of the processes in
front of them (the gateway's and the portal's ``tests/conftest.py``).

Each double serves the real generated service interface on a free port, answers with canned
protos (or rich errors built with ``chorus_platform.rpc_status.to_status``), records every
call with its metadata, and serves ``grpc.health.v1``. End-to-end tests use the real services;
these keep the edge's own tests fast and focused on translation. Test code only: nothing in
the gateway or the portal imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import grpc
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.identity.v1 import identity_service_pb2_grpc as identity_grpc
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as invoices_grpc
from chorus.notifications.v1 import notifications_service_pb2 as notifications_pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as notifications_grpc
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus.structures.v1 import structures_service_pb2_grpc as structures_grpc
from chorus_platform import rpc_status
from chorus_platform.errors import DomainError
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

Answer = Message | DomainError | Callable[[Any], Message | DomainError]


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class ServiceDouble:
    """One fake service: ``answer(method, reply)``, then inspect ``calls``. A callable reply
    is called with the request and may return an error to answer with."""

    name: str
    service: Any
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    server: grpc.aio.Server | None = None
    health: Any = None

    def answer(self, method: str, reply: Answer) -> None:
        assert method in self.service.methods_by_name, f"{self.name} has no {method}"
        self.answers[method] = reply

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def reset(self) -> None:
        self.answers.clear()
        self.calls.clear()

    def _handler(self, method: str):
        async def handle(request, context: grpc.aio.ServicerContext):
            metadata = {key: value for key, value in context.invocation_metadata() or ()}
            self.calls.append(Call(method, request, metadata))
            reply = self.answers.get(method)
            if reply is None:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"no answer for {method}")
            if callable(reply):
                reply = reply(request)
            if isinstance(reply, DomainError):
                await context.abort_with_status(rpc_status.to_status(reply))
            return reply

        return handle

    async def start(self) -> None:
        # The services' own message bound (16 MiB), so large uploads reach the doubles.
        self.server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)]
        )
        handlers = {m: self._handler(m) for m in self.service.methods_by_name}
        self.add_to_server(SimpleNamespace(**handlers), self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        await self.set_serving(True)

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self.health.set("", status)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(None)


@dataclass
class Doubles:
    identity: ServiceDouble
    structures: ServiceDouble
    invoices: ServiceDouble
    notifications: ServiceDouble
    settings_class: Callable[..., Any]

    def all(self) -> list[ServiceDouble]:
        return [self.identity, self.structures, self.invoices, self.notifications]

    def settings(self, **overrides: Any) -> Any:
        """Settings of the process under test (``settings_class``) pointing at the doubles."""
        addresses = {f"{d.name}_addr": f"127.0.0.1:{d.port}" for d in self.all()}
        return self.settings_class(grpc_deadline_seconds=5.0, **{**addresses, **overrides})

    async def fresh(self) -> Doubles:
        """The doubles with no answer, no call recorded, and SERVING (for the next test)."""
        for double in self.all():
            double.reset()
            await double.set_serving(True)
        return self


@asynccontextmanager
async def running_doubles(settings_class: Callable[..., Any]) -> AsyncIterator[Doubles]:
    """The four doubles serving on free ports while the block runs; ``settings_class`` (the
    gateway's or the portal's settings) is what :meth:`Doubles.settings` builds."""
    found = Doubles(
        identity=ServiceDouble(
            "identity",
            identity_pb.DESCRIPTOR.services_by_name["IdentityService"],
            identity_grpc.add_IdentityServiceServicer_to_server,
        ),
        structures=ServiceDouble(
            "structures",
            structures_pb.DESCRIPTOR.services_by_name["StructuresService"],
            structures_grpc.add_StructuresServiceServicer_to_server,
        ),
        invoices=ServiceDouble(
            "invoices",
            invoices_pb.DESCRIPTOR.services_by_name["InvoicesService"],
            invoices_grpc.add_InvoicesServiceServicer_to_server,
        ),
        notifications=ServiceDouble(
            "notifications",
            notifications_pb.DESCRIPTOR.services_by_name["NotificationsService"],
            notifications_grpc.add_NotificationsServiceServicer_to_server,
        ),
        settings_class=settings_class,
    )
    for double in found.all():
        await double.start()
    try:
        yield found
    finally:
        for double in found.all():
            await double.stop()
