"""InvoicesService calls: portal entry, lists, details, history, submission."""

from __future__ import annotations

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc

from chorus_edge.clients.caller import Caller


class InvoicesClient:
    """Thin wrapper over the invoices stub forwarding the caller's metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.InvoicesServiceStub(channel)

    async def create_invoice(self, request: pb.CreateInvoiceRequest, caller: Caller) -> pb.Invoice:
        response = await self._stub.CreateInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def update_draft_invoice(
        self, invoice_id: str, request: pb.CreateInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.UpdateDraftInvoice(
            pb.UpdateDraftInvoiceRequest(invoice_id=invoice_id, invoice=request),
            metadata=caller.metadata(),
        )
        return response.invoice

    async def submit_invoice(self, invoice_id: str, caller: Caller) -> pb.Invoice:
        response = await self._stub.SubmitInvoice(
            pb.SubmitInvoiceRequest(invoice_id=invoice_id), metadata=caller.metadata()
        )
        return response.invoice

    async def get_invoice(self, invoice_id: str, caller: Caller) -> pb.Invoice:
        response = await self._stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id=invoice_id), metadata=caller.metadata()
        )
        return response.invoice

    async def list_invoices(
        self, request: pb.ListInvoicesRequest, caller: Caller
    ) -> pb.ListInvoicesResponse:
        return await self._stub.ListInvoices(request, metadata=caller.metadata())

    async def get_invoice_history(self, invoice_id: str, caller: Caller) -> list[pb.HistoryEntry]:
        response = await self._stub.GetInvoiceHistory(
            pb.GetInvoiceHistoryRequest(invoice_id=invoice_id), metadata=caller.metadata()
        )
        return list(response.entries)

    async def list_status_transitions(
        self, from_status: int, caller: Caller
    ) -> list[pb.StatusTransition]:
        response = await self._stub.ListStatusTransitions(
            pb.ListStatusTransitionsRequest(from_status=from_status), metadata=caller.metadata()
        )
        return list(response.transitions)

    async def deposit_structured_invoice(
        self, request: pb.DepositStructuredInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.DepositStructuredInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def deposit_invoice_batch(
        self, request: pb.DepositInvoiceBatchRequest, caller: Caller
    ) -> pb.DepositInvoiceBatchResponse:
        return await self._stub.DepositInvoiceBatch(request, metadata=caller.metadata())

    async def get_invoice_attachment(
        self, invoice_id: str, document_id: str, caller: Caller
    ) -> pb.GetInvoiceAttachmentResponse:
        return await self._stub.GetInvoiceAttachment(
            pb.GetInvoiceAttachmentRequest(invoice_id=invoice_id, document_id=document_id),
            metadata=caller.metadata(),
        )

    async def get_invoice_document(
        self, invoice_id: str, caller: Caller, role: str = ""
    ) -> pb.GetInvoiceDocumentResponse:
        """The main document ("" role), or the one of ``role`` (FACTURX, ORIGINAL, CII)."""
        return await self._stub.GetInvoiceDocument(
            pb.GetInvoiceDocumentRequest(invoice_id=invoice_id, role=role),
            metadata=caller.metadata(),
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

    async def delete_invoice(self, invoice_id: str, caller: Caller) -> None:
        await self._stub.DeleteInvoice(
            pb.DeleteInvoiceRequest(invoice_id=invoice_id), metadata=caller.metadata()
        )

    async def recycle_invoice(
        self, request: pb.RecycleInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.RecycleInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def acknowledge_rejection(self, invoice_id: str, caller: Caller) -> pb.Invoice:
        response = await self._stub.AcknowledgeRejection(
            pb.AcknowledgeRejectionRequest(invoice_id=invoice_id), metadata=caller.metadata()
        )
        return response.invoice

    async def deposit_pdf_invoice(
        self, request: pb.DepositPdfInvoiceRequest, caller: Caller
    ) -> pb.Invoice:
        response = await self._stub.DepositPdfInvoice(request, metadata=caller.metadata())
        return response.invoice

    async def stage_attachment(
        self, request: pb.StageAttachmentRequest, caller: Caller
    ) -> pb.StageAttachmentResponse:
        return await self._stub.StageAttachment(request, metadata=caller.metadata())

    async def summarize_invoices(self, caller: Caller) -> list[pb.InvoiceSummary]:
        response = await self._stub.SummarizeInvoices(
            pb.SummarizeInvoicesRequest(), metadata=caller.metadata()
        )
        return list(response.summaries)
