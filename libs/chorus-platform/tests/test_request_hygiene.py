"""One rule for every string entering a service: the walker on real message types, and the
interceptor in front of a real gRPC server."""

import grpc
import pytest
from chorus.identity.v1 import identity_service_pb2 as idpb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2 as npb
from chorus.notifications.v1 import notifications_service_pb2_grpc as npb_grpc
from chorus_platform import grpc_server, request_hygiene
from chorus_platform.grpc_client import open_channel
from chorus_platform.request_hygiene import (
    MAX_VIOLATIONS,
    RequestHygieneInterceptor,
    is_clean,
    string_violations,
)
from chorus_platform.rpc_status import from_rpc_error
from google.protobuf import struct_pb2


def paths(message) -> list[str]:
    return [v.field for v in string_violations(message)]


@pytest.mark.parametrize(
    "text",
    ["", "Pose de fenêtres", "a\tb", "ligne 1\nligne 2", "a\r\nb", "12 € — ✓ 😀", "\x7f", "\u00a0"],
)
def test_ordinary_text_is_clean(text):
    assert is_clean(text)


@pytest.mark.parametrize(
    "character", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f"]
)
def test_nul_and_c0_controls_other_than_tab_cr_lf_are_refused(character):
    assert not is_clean(f"avant{character}après")


@pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc00", "\udfff"])
def test_lone_surrogates_are_refused_should_one_ever_be_representable(surrogate):
    assert not is_clean(f"a{surrogate}b")


def test_each_offending_string_is_named_by_its_path_in_field_order():
    request = pb.CreateInvoiceRequest(
        number="F-1\x00",
        lines=[
            pb.InvoiceLine(description="ok"),
            pb.InvoiceLine(description="ok", unit="C62"),
            pb.InvoiceLine(description="Pose\x1b[31m", unit_price="4\x00"),
        ],
        recipient=pb.RecipientRef(identifier="123\x0c"),
    )

    violations = string_violations(request)

    assert [v.field for v in violations] == [  # the order of the fields in the .proto
        "recipient.identifier",
        "number",
        "lines[2].description",
        "lines[2].unit_price",
    ]
    assert all("caractère interdit" in v.description for v in violations)


def test_a_clean_request_has_no_violation():
    request = pb.CreateInvoiceRequest(
        number="F-2025-001",
        comment="Livraison\nle 3 mars\tmatin",
        lines=[pb.InvoiceLine(description="Ramettes de papier recyclé A4")],
    )
    assert string_violations(request) == []


def test_nested_messages_and_repeated_messages_are_walked_bytes_are_not():
    request = pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(number="P\x00"),
        totals=pb.Totals(vat_breakdown=[pb.VatBreakdown(rate="20"), pb.VatBreakdown(base="\x01")]),
        filename="facture.pdf",
        content=b"%PDF-1.4 \x00\x01\x02 binary is fine",
        attachments=[
            pb.AttachmentFile(filename="a.pdf", content=b"\x00" * 1024),
            pb.AttachmentFile(filename="b\x00.pdf", content=b"x"),
        ],
        staged_attachment_ids=["ok", "k\x00"],
    )

    assert sorted(paths(request)) == sorted(
        [
            "header.number",
            "totals.vat_breakdown[1].base",
            "attachments[1].filename",
            "staged_attachment_ids[1]",
        ]
    )


def test_bytes_fields_are_not_even_read():
    """The walker's plan for a file-carrying type leaves its bytes out (no copy of a
    10 MB file to look at it)."""

    def plan(message_type) -> set[str]:
        return {field.name for field in request_hygiene._plan(message_type.DESCRIPTOR)}

    assert plan(pb.AttachmentFile) == {"filename"}
    assert "content" not in plan(pb.DepositPdfInvoiceRequest)


def test_map_values_are_named_by_their_key_and_bad_keys_by_the_map():
    event = idpb.SecurityEvent(details={"reason": "WRONG\x00", "ok": "fine", "bad\x00key": "v"})

    assert sorted(paths(event)) == ["details", 'details["reason"]']


def test_recursive_types_are_walked_to_the_bottom():
    value = struct_pb2.Struct()
    value.update({"a": {"b": "deep\x00"}, "l": ["ok", "bad\x1f"], "n": 3})

    assert sorted(paths(value)) == [
        'fields["a"].struct_value.fields["b"].string_value',
        'fields["l"].list_value.values[1].string_value',
    ]


def test_violations_are_bounded():
    request = pb.CreateInvoiceRequest(
        lines=[pb.InvoiceLine(description=f"{i}\x00") for i in range(200)]
    )
    assert len(string_violations(request)) == MAX_VIOLATIONS


# -- the interceptor in front of a real server -------------------------------------------------

SERVICE = npb.DESCRIPTOR.services_by_name["NotificationsService"].full_name


class Echo(npb_grpc.NotificationsServiceServicer):
    def __init__(self) -> None:
        self.runs = 0

    async def ListFeed(self, request, context):
        self.runs += 1
        return npb.ListFeedResponse(next_page_token=request.page_token)


def register(server, servicer) -> list[str]:
    npb_grpc.add_NotificationsServiceServicer_to_server(servicer, server)
    return [SERVICE]


@pytest.fixture
async def served():
    servicer = Echo()
    app = grpc_server.GrpcApp(
        name="test",
        port=0,
        host="127.0.0.1",
        register=lambda server: register(server, servicer),
        interceptors=[RequestHygieneInterceptor()],
        grace_seconds=1,
    )
    running = await grpc_server.start(app)
    channel = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=5)
    yield channel, servicer
    await channel.close()
    await running.stop()


async def test_a_request_with_a_nul_is_refused_before_the_handler(served):
    channel, servicer = served
    stub = npb_grpc.NotificationsServiceStub(channel)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListFeed(npb.ListFeedRequest(page_token="a\x00b"))

    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "STRING_INVALID")
    assert [v.field for v in error.violations] == ["page_token"]
    assert servicer.runs == 0
    assert (await stub.ListFeed(npb.ListFeedRequest(page_token="a\tb"))).next_page_token == "a\tb"


async def test_a_string_that_is_not_utf8_is_malformed_not_unknown(served):
    channel, servicer = served
    field = npb.ListFeedRequest.DESCRIPTOR.fields_by_name["page_token"]
    raw = bytes([(field.number << 3) | 2, 3]) + b"a\xffb"  # a string field, invalid UTF-8
    call = channel.unary_unary(
        f"/{SERVICE}/ListFeed", request_serializer=bytes, response_deserializer=bytes
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(raw)

    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_MALFORMED")
    assert servicer.runs == 0
