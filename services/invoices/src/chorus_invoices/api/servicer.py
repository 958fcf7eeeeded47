"""gRPC InvoicesService: maps requests to the use cases and domain answers back to protos.

The RPCs are grouped by what they act on, one module each: :mod:`~chorus_invoices.api.deposits`
(deposits and staged attachments), :mod:`~chorus_invoices.api.flows` (Chorus Pro flows),
:mod:`~chorus_invoices.api.reading` (reads) and
:mod:`~chorus_invoices.api.processing` (what follows the deposit). Every RPC needs an
authenticated caller (AuthInterceptor); domain errors are mapped to gRPC statuses by the
platform's ErrorInterceptor (:data:`chorus_invoices.api.errors.STATUS_CODES`), with ErrorInfo
reasons and field violations.
"""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc

from chorus_invoices.api.deposits import DepositRpcs
from chorus_invoices.api.flows import FlowRpcs
from chorus_invoices.api.processing import ProcessingRpcs
from chorus_invoices.api.reading import ReadingRpcs
from chorus_invoices.api.summary import SummaryRpcs
from chorus_invoices.usecases.attachments import AttachmentStaging
from chorus_invoices.usecases.deposit import Deposits
from chorus_invoices.usecases.flows import Flows
from chorus_invoices.usecases.pdf_deposit import PdfDeposits
from chorus_invoices.usecases.processing import Processing
from chorus_invoices.usecases.reading import Reading
from chorus_invoices.usecases.recycling import Recycling
from chorus_invoices.usecases.structured_deposit import StructuredDeposits
from chorus_invoices.usecases.summary import InvoiceSummaries


class InvoicesServicer(
    DepositRpcs,
    FlowRpcs,
    ReadingRpcs,
    ProcessingRpcs,
    SummaryRpcs,
    pb_grpc.InvoicesServiceServicer,
):
    def __init__(
        self,
        *,
        deposits: Deposits,
        structured: StructuredDeposits,
        pdf: PdfDeposits,
        staging: AttachmentStaging,
        reading: Reading,
        processing: Processing,
        recycling: Recycling,
        flows: Flows,
        summary: InvoiceSummaries,
    ) -> None:
        self._deposits = deposits
        self._structured = structured
        self._pdf = pdf
        self._staging = staging
        self._reading = reading
        self._processing = processing
        self._recycling = recycling
        self._flows = flows
        self._summary = summary
