"""The servicer is put together from groups of RPCs (api/deposits.py, reading.py,
processing.py): none of the service's RPCs may be left to the generated stub."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_invoices.api.servicer import InvoicesServicer


def test_every_rpc_of_the_service_is_implemented():
    methods = pb.DESCRIPTOR.services_by_name["InvoicesService"].methods_by_name
    unimplemented = [
        name
        for name in methods
        if getattr(InvoicesServicer, name) is getattr(pb_grpc.InvoicesServiceServicer, name)
    ]
    assert unimplemented == []
