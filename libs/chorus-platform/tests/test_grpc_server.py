"""The gRPC runner: health, error mapping, auth, deadlines, graceful stop."""

import asyncio
import logging

import asyncpg
import grpc
import pytest
from aiokafka.errors import KafkaConnectionError
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server, rpc_status
from chorus_platform.auth import AuthInterceptor, current_principal
from chorus_platform.errors import (
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from chorus_platform.grpc_client import open_channel
from chorus_platform.rpc_status import STANDARD_STATUS_CODES, from_rpc_error
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.transient_errors import classify
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace

SERVICE = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name


class FeedQuotaReached(DomainError):
    """An error of the test service's own, which only its status table gives a code."""


class FeedItemGone(NotFound):
    """A kind of NotFound that this service's table says is FAILED_PRECONDITION."""


class Unmapped(DomainError):
    """A domain error no table entry covers."""


STATUS_CODES = {
    **STANDARD_STATUS_CODES,
    FeedQuotaReached: grpc.StatusCode.RESOURCE_EXHAUSTED,
    FeedItemGone: grpc.StatusCode.FAILED_PRECONDITION,
}


def peer_failure(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "peer failed")


def lost_then_wrapped() -> RuntimeError:
    error = RuntimeError("a use case failing because its connection was lost")
    error.__cause__ = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
    return error


TRANSIENT = {
    "cannot-connect-now": lambda: asyncpg.CannotConnectNowError("the database is starting up"),
    "connection-lost": lambda: asyncpg.ConnectionDoesNotExistError("closed mid-operation"),
    "too-many": lambda: asyncpg.TooManyConnectionsError("too many clients"),
    "deadlock": lambda: asyncpg.DeadlockDetectedError("deadlock detected"),
    "broker": lambda: KafkaConnectionError("broker down"),
    "peer-unavailable": lambda: peer_failure(grpc.StatusCode.UNAVAILABLE),
    "peer-deadline": lambda: peer_failure(grpc.StatusCode.DEADLINE_EXCEEDED),
    "timeout": lambda: TimeoutError(),
    "wrapped": lost_then_wrapped,
}


class Feed(pb_grpc.NotificationsServiceServicer):
    """A tiny servicer whose behaviour each test chooses through the page token."""

    def __init__(self):
        self.release = asyncio.Event()

    async def ListFeed(self, request, context):
        match request.page_token:
            case "invalid":
                raise InvalidArgument(
                    "PAGE_TOKEN_INVALID",
                    "Le jeton de page est invalide.",
                    [FieldViolation("page_token", "jeton illisible")],
                )
            case "many":
                raise InvalidArgument(
                    "FIELDS_INVALID",
                    "La demande comporte 500 erreurs : corrigez les champs signalés.",
                    [
                        FieldViolation(f"lines[{i}].allowances_charges[0].amount", "é" * 400)
                        for i in range(500)
                    ],
                )
            case "quota":
                raise FeedQuotaReached("FEED_QUOTA_REACHED", "Trop d'éléments.")
            case "gone":
                raise FeedItemGone("FEED_ITEM_GONE", "Élément supprimé.")
            case "unmapped":
                raise Unmapped("UNMAPPED", "Erreur sans entrée.")
            case "crash":
                raise RuntimeError("database password=s3cret leaked?")
            case "peer-down":
                raise Unavailable("PEER_UNAVAILABLE", "Le service voisin ne répond pas.")
            case token if token in TRANSIENT:
                raise TRANSIENT[token]()
            case "slow":
                await self.release.wait()
            case "big":
                return pb.ListFeedResponse(next_page_token="y" * (12 * 1024 * 1024))
        return pb.ListFeedResponse(next_page_token=current_principal().user_id)

    async def MarkFeedItemRead(self, request, context):
        raise NotFound("FEED_ITEM_NOT_FOUND", "Élément introuvable.")


def register(servicer, server):
    pb_grpc.add_NotificationsServiceServicer_to_server(servicer, server)
    return [SERVICE]


@pytest.fixture
async def server():
    signer = TestSigner()
    servicer = Feed()
    ready = asyncio.Event()

    async def readiness():
        if not ready.is_set():
            raise ConnectionError("database not reachable yet")

    app = grpc_server.GrpcApp(
        name="test",
        port=0,
        host="127.0.0.1",
        register=lambda s: (
            pb_grpc.add_NotificationsServiceServicer_to_server(servicer, s),
            [SERVICE],
        )[1],
        interceptors=[AuthInterceptor(signer.verifier(), public_methods=set())],
        error_status_codes=STATUS_CODES,
        readiness_checks=[readiness],
        check_interval_seconds=0.1,
        grace_seconds=5,
    )
    running = await grpc_server.start(app)
    channel = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=5)
    yield running, channel, signer, servicer, ready
    await channel.close()
    await running.stop()


async def health_status(channel, service=""):
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return response.status


async def wait_serving(channel, expected):
    async with asyncio.timeout(5):
        while await health_status(channel) != expected:
            await asyncio.sleep(0.05)


async def test_health_is_not_serving_until_readiness_checks_pass(server):
    _, channel, _, _, ready = server
    assert await health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    alive = await health_status(channel, grpc_server.LIVENESS_SERVICE)
    assert alive == health_pb2.HealthCheckResponse.SERVING
    ready.set()
    await wait_serving(channel, health_pb2.HealthCheckResponse.SERVING)
    assert await health_status(channel, SERVICE) == health_pb2.HealthCheckResponse.SERVING


async def test_domain_errors_become_rich_statuses(server):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(
            pb.ListFeedRequest(page_token="invalid"), metadata=signer.metadata("u1")
        )
    error = from_rpc_error(caught.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "PAGE_TOKEN_INVALID"
    assert error.message == "Le jeton de page est invalide."
    assert [(v.field, v.description) for v in error.violations] == [
        ("page_token", "jeton illisible")
    ]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.MarkFeedItemRead(pb.MarkFeedItemReadRequest(), metadata=signer.metadata("u1"))
    assert from_rpc_error(caught.value).code == grpc.StatusCode.NOT_FOUND


async def test_a_refusal_with_more_violations_than_fit_keeps_its_code_and_says_so(server):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(pb.ListFeedRequest(page_token="many"), metadata=signer.metadata("u1"))
    error = from_rpc_error(caught.value)
    # whole, the details would pass the client's 8 KiB metadata cap: RESOURCE_EXHAUSTED
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "FIELDS_INVALID"
    assert 1 < len(error.violations) < 500
    assert error.violations[0].field == "lines[0].allowances_charges[0].amount"
    assert len(error.violations[0].description) == rpc_status.MAX_DESCRIPTION_CHARS
    assert error.violations[-1].field == ""
    left = 500 - (len(error.violations) - 1)
    assert f"et {left} autre(s) erreur(s) non listée(s)" in error.violations[-1].description


class _MismatchedCall(grpc.RpcError):
    """A failed call whose rich details name another code than the call's own."""

    def __init__(self, call_code: grpc.StatusCode):
        self._metadata = rpc_status.to_status(InvalidArgument("X", "x")).trailing_metadata
        self._code = call_code

    def trailing_metadata(self):
        return self._metadata

    def code(self):
        return self._code

    def details(self):
        return "received trailing metadata size exceeds limit"


def test_details_that_contradict_the_calls_code_are_ignored_not_raised():
    error = from_rpc_error(_MismatchedCall(grpc.StatusCode.RESOURCE_EXHAUSTED))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == ""
    assert error.message == "received trailing metadata size exceeds limit"


@pytest.mark.parametrize(
    ("token", "code", "reason"),
    [
        ("quota", grpc.StatusCode.RESOURCE_EXHAUSTED, "FEED_QUOTA_REACHED"),
        ("gone", grpc.StatusCode.FAILED_PRECONDITION, "FEED_ITEM_GONE"),
        ("unmapped", grpc.StatusCode.UNKNOWN, "UNMAPPED"),
    ],
)
async def test_the_services_table_decides_the_status_most_specific_class_first(
    server, token, code, reason
):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(pb.ListFeedRequest(page_token=token), metadata=signer.metadata("u1"))
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (code, reason)


async def test_unexpected_errors_are_internal_and_reveal_nothing_but_a_correlation_id(
    server, caplog
):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with (
        caplog.at_level(logging.ERROR, logger="chorus_platform.grpc_server"),
        pytest.raises(grpc.aio.AioRpcError) as caught,
    ):
        await stub.ListFeed(pb.ListFeedRequest(page_token="crash"), metadata=signer.metadata("u1"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "s3cret" not in caught.value.details()
    error = from_rpc_error(caught.value)
    assert error.reason == "INTERNAL_ERROR"
    assert list(error.metadata) == ["correlation_id"]
    assert len(error.metadata["correlation_id"]) == 32
    [logged] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.correlation_id == error.metadata["correlation_id"]
    assert "s3cret" in str(logged.exc_info[1])  # the log has it, the caller does not


@pytest.mark.parametrize(
    ("token", "reason", "retry_after"),
    [
        ("cannot-connect-now", "DATABASE_UNAVAILABLE", "5"),
        ("connection-lost", "DATABASE_UNAVAILABLE", "5"),
        ("too-many", "DATABASE_UNAVAILABLE", "5"),
        ("wrapped", "DATABASE_UNAVAILABLE", "5"),
        ("deadlock", "TRANSACTION_CONFLICT", "1"),
        ("broker", "BROKER_UNAVAILABLE", "5"),
        ("peer-unavailable", "SERVICE_UNAVAILABLE", "5"),
        ("peer-deadline", "SERVICE_UNAVAILABLE", "5"),
        ("timeout", "SERVICE_UNAVAILABLE", "5"),
    ],
)
async def test_transient_infrastructure_errors_are_unavailable_with_a_retry_hint(
    server, token, reason, retry_after
):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(pb.ListFeedRequest(page_token=token), metadata=signer.metadata("u1"))
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, reason)
    assert error.metadata["retry_after_seconds"] == retry_after
    assert len(error.metadata["correlation_id"]) == 32
    assert "réessayez" in error.message


async def test_a_services_own_unavailable_error_gets_a_retry_hint_too(server):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(
            pb.ListFeedRequest(page_token="peer-down"), metadata=signer.metadata("u1")
        )
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "PEER_UNAVAILABLE")
    assert error.metadata == {"retry_after_seconds": "5"}


async def test_a_refused_database_connection_is_recognised_as_the_database(postgres_server):
    with pytest.raises(OSError) as caught:  # nothing listens on port 1
        await asyncpg.connect(postgres_server.url.replace(f":{postgres_server.port}/", ":1/"))
    assert classify(caught.value).reason == "DATABASE_UNAVAILABLE"
    assert classify(ConnectionRefusedError()).reason == "SERVICE_UNAVAILABLE"  # not asyncpg's
    assert classify(RuntimeError("a bug")) is None
    assert classify(peer_failure(grpc.StatusCode.INVALID_ARGUMENT)) is None


def test_the_correlation_id_is_the_trace_id_when_there_is_one():
    context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    with trace.use_span(trace.NonRecordingSpan(context)):
        assert grpc_server.correlation_id() == "0af7651916cd43dd8448eb211c80319c"
    assert grpc_server.correlation_id() != grpc_server.correlation_id()  # random outside


async def test_the_caller_comes_from_a_valid_token_only(server):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    response = await stub.ListFeed(pb.ListFeedRequest(), metadata=signer.metadata("user-42"))
    assert response.next_page_token == "user-42"

    for metadata in [
        None,
        (("authorization", "Bearer not-a-jwt"),),
        (("authorization", f"Bearer {signer.token('u', ttl=-10)}"),),
        (("authorization", f"Bearer {TestSigner().token('u')}"),),  # forged: other key, same kid
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListFeed(pb.ListFeedRequest(), metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_client_calls_always_carry_a_deadline(server):
    running, _, signer, servicer, _ = server
    short = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=0.3)
    stub = pb_grpc.NotificationsServiceStub(short)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(pb.ListFeedRequest(page_token="slow"), metadata=signer.metadata("u"))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    servicer.release.set()
    await short.close()


async def test_stop_goes_not_serving_and_drains_in_flight_calls(server):
    running, channel, signer, servicer, ready = server
    ready.set()
    await wait_serving(channel, health_pb2.HealthCheckResponse.SERVING)
    stub = pb_grpc.NotificationsServiceStub(channel)
    in_flight = asyncio.ensure_future(
        stub.ListFeed(pb.ListFeedRequest(page_token="slow"), metadata=signer.metadata("u7"))
    )
    await asyncio.sleep(0.2)
    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0.2)
    statuses = await running.health.Check(health_pb2.HealthCheckRequest(service=""), None)
    assert statuses.status == health_pb2.HealthCheckResponse.NOT_SERVING
    servicer.release.set()
    response = await in_flight
    assert response.next_page_token == "u7"
    await stopping


async def test_messages_up_to_16_mib_pass_both_ways(server):
    _, channel, signer, _, _ = server
    stub = pb_grpc.NotificationsServiceStub(channel)
    big = "x" * (12 * 1024 * 1024)  # above gRPC's 4 MiB default, as a 10 MB invoice file is
    response = await stub.ListFeed(
        pb.ListFeedRequest(page_token=big), metadata=signer.metadata("u")
    )
    assert response.next_page_token == "u"
    response = await stub.ListFeed(
        pb.ListFeedRequest(page_token="big"), metadata=signer.metadata("u")
    )
    assert len(response.next_page_token) == 12 * 1024 * 1024


async def test_stop_finishes_even_if_a_background_job_swallows_one_cancellation():
    swallowed = []

    async def stubborn_job():
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # like wait_for losing a cancellation on 3.11

    app = grpc_server.GrpcApp(
        name="test",
        port=0,
        host="127.0.0.1",
        register=lambda s: [],
        background=[stubborn_job],
        grace_seconds=0.1,
    )
    running = await grpc_server.start(app)
    await asyncio.sleep(0.1)
    async with asyncio.timeout(5):
        await running.stop()
    assert swallowed == [True]
