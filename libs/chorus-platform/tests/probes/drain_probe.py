"""Run in its own process by test_grpc_drain.py: ``grpc_server.serve`` of a small service on
port argv[1] with a shutdown delay of argv[2] seconds, until SIGTERM."""

import asyncio
import logging
import sys

from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server


class Feed(pb_grpc.NotificationsServiceServicer):
    async def ListFeed(self, request, context):
        return pb.ListFeedResponse(next_page_token="served")


async def ready() -> None:
    """Always ready (as a database that answers)."""


async def main(port: int, delay: float) -> None:
    app = grpc_server.GrpcApp(
        name="drain-probe",
        port=port,
        host="127.0.0.1",
        register=lambda s: (pb_grpc.add_NotificationsServiceServicer_to_server(Feed(), s), [])[1],
        readiness_checks=[ready],
        check_interval_seconds=0.1,
        grace_seconds=2,
        shutdown_delay_seconds=delay,
    )
    await grpc_server.serve(app)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
