"""InvoicesService calls: flows, lists, one invoice, its history and document, processing."""

from __future__ import annotations

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc

from chorus_cpro_api.clients.caller import Caller


class InvoicesClient:
    """Thin wrapper over the invoices stub; the channel gives every call its deadline (a
    flow's deposit, which checks its invoice before answering, gets a longer one)."""

    def __init__(self, channel: grpc.aio.Channel, *, deposit_deadline: float) -> None:
        self._stub = pb_grpc.InvoicesServiceStub(channel)
        self._deposit_deadline = deposit_deadline

    async def deposit_flow(self, request: pb.DepositFlowRequest, caller: Caller) -> pb.Flow:
        response = await self._stub.DepositFlow(
            request, metadata=caller.metadata(), timeout=self._deposit_deadline
        )
        return response.flow

    async def get_flow(self, number: str, caller: Caller) -> pb.Flow:
        response = await self._stub.GetFlow(
            pb.GetFlowRequest(number=number), metadata=caller.metadata()
        )
        return response.flow

    async def list_invoices(
        self, request: pb.ListInvoicesRequest, caller: Caller
    ) -> pb.ListInvoicesResponse:
        return await self._stub.ListInvoices(request, metadata=caller.metadata())

    async def get_invoice(self, cpp_id: int, caller: Caller) -> pb.Invoice:
        response = await self._stub.GetInvoice(
            pb.GetInvoiceRequest(cpp_id=cpp_id), metadata=caller.metadata()
        )
        return response.invoice

    async def list_status_transitions(
        self, from_status: int, caller: Caller
    ) -> list[pb.StatusTransition]:
        response = await self._stub.ListStatusTransitions(
            pb.ListStatusTransitionsRequest(from_status=from_status), metadata=caller.metadata()
        )
        return list(response.transitions)

    async def get_invoice_history(self, cpp_id: int, caller: Caller) -> list[pb.HistoryEntry]:
        response = await self._stub.GetInvoiceHistory(
            pb.GetInvoiceHistoryRequest(cpp_id=cpp_id), metadata=caller.metadata()
        )
        return list(response.entries)

    async def get_invoice_document(
        self, cpp_id: int, caller: Caller
    ) -> pb.GetInvoiceDocumentResponse:
        return await self._stub.GetInvoiceDocument(
            pb.GetInvoiceDocumentRequest(cpp_id=cpp_id), metadata=caller.metadata()
        )

    async def change_invoice_status(
        self, request: pb.ChangeInvoiceStatusRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.ChangeInvoiceStatus(request, metadata=caller.metadata())
        return response.invoice

    async def complete_invoice(
        self, request: pb.CompleteInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.CompleteInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def recycle_invoice(
        self, request: pb.RecycleInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.RecycleInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def acknowledge_rejection(self, cpp_id: int, caller: Caller) -> pb.Invoice:
        response = await self._stub.AcknowledgeRejection(
            pb.AcknowledgeRejectionRequest(cpp_id=cpp_id), metadata=caller.metadata()
        )
        return response.invoice

    async def create_invoice(self, request: pb.CreateInvoiceRequest, caller: Caller) -> pb.Invoice:
        response = await self._stub.CreateInvoice(
            request, metadata=caller.metadata(), timeout=self._deposit_deadline
        )
        return response.invoice

    async def deposit_pdf_invoice(
        self, request: pb.DepositPdfInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.DepositPdfInvoice(
            request, metadata=caller.metadata(), timeout=self._deposit_deadline
        )
        return response.invoice

    async def stage_attachment(
        self, request: pb.StageAttachmentRequest, caller: Caller
    ) -> pb.StageAttachmentResponse:
        return await self._stub.StageAttachment(request, metadata=caller.metadata())
