"""Run in its own process by test_idempotency.py, which kills it: a gRPC server whose creating
RPC (ListFeed stands for one) writes its effect through a UnitOfWork, behind the
IdempotencyInterceptor.

argv: database DSN, the hex seed of the Ed25519 key that signs the callers' tokens. Prints
``{"port": N}`` once serving. ``PROBE_DIES`` makes the process SIGKILL itself during a call:
``before-commit`` once the effect is written (its savepoint released, nothing committed),
``after-commit`` once the idempotency interceptor has committed, before the answer leaves.
"""

import asyncio
import json
import os
import signal
import sys

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server
from chorus_platform.auth import AuthInterceptor, current_principal
from chorus_platform.db import create_pool
from chorus_platform.idempotency import IdempotencyInterceptor
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.unit_of_work import UnitOfWork
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SERVICE = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name
CREATING = f"/{SERVICE}/ListFeed"
DIES = os.environ.get("PROBE_DIES", "")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Creating(pb_grpc.NotificationsServiceServicer):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def ListFeed(self, request, context):
        async with self._uow.transaction() as tx:
            number = await tx.conn.fetchval(
                "INSERT INTO effects (owner) VALUES ($1) RETURNING n", current_principal().user_id
            )
        if DIES == "before-commit":
            die()
        return pb.ListFeedResponse(next_page_token=f"effect #{number}")


class DiesAfterCommit(grpc.aio.ServerInterceptor):
    """Outside the idempotency interceptor: its call has committed when this one resumes."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def then_die(request, context):
            response = await inner(request, context)
            die()
            return response

        return handler._replace(unary_unary=then_die)


def register(server, uow: UnitOfWork) -> list[str]:
    pb_grpc.add_NotificationsServiceServicer_to_server(Creating(uow), server)
    return []


async def main(dsn: str, seed: str) -> None:
    signer = TestSigner()
    signer._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    pool = await create_pool(dsn, max_size=4)
    uow = UnitOfWork(pool, service="probe")
    interceptors = [AuthInterceptor(signer.verifier(), public_methods=set())]
    if DIES == "after-commit":
        interceptors.append(DiesAfterCommit())
    interceptors.append(IdempotencyInterceptor(pool, {CREATING}))
    app = grpc_server.GrpcApp(
        name="probe",
        port=0,
        host="127.0.0.1",
        register=lambda server: register(server, uow),
        interceptors=interceptors,
        reflection=False,
    )
    running = await grpc_server.start(app)
    print(json.dumps({"port": running.port}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
