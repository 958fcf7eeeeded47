"""The flow RPCs of InvoicesService (Chorus Pro ``deposer/flux``, ``consulterCR``):
DepositFlow and GetFlow."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform import idempotency
from chorus_platform.auth import current_principal

from chorus_invoices.api import deposit_metrics, mapping
from chorus_invoices.usecases.flows import Flows


class FlowRpcs:
    """Part of :class:`~chorus_invoices.api.servicer.InvoicesServicer`."""

    _flows: Flows

    async def DepositFlow(self, request: pb.DepositFlowRequest, context):
        """Deposits a flow: one UBL 2.1, CII D16B or Factur-X file, or a ZIP / tar.gz archive
        of them (up to 1,000 files), under one of the 13 Chorus Pro ``syntaxeFlux`` constants
        (a file of another format than the syntax names is read as what it is, with a note).

        Each file goes through the checks and the deposit of DepositStructuredInvoice (XSD,
        EN 16931 schematron, Chorus' rules, access, recipient, routing, duplicates) and
        becomes an invoice with deposit mode FLOW and the flow's ``number``. One file is
        decided before the answer: IN_INTEGRE (``items[0].invoice_id``) or IN_REJETE (its
        errors: rule, XPath, French message). An archive is answered
        IN_EN_ATTENTE_TRAITEMENT_CPP and processed by the flow worker (GetFlow follows it)
        to IN_INTEGRE, IN_INTEGRE_PARTIEL or IN_REJETE — the caller's right is decided here,
        once: the worker needs no token and processes however long the flow waited. A file
        that fails its checks is never an error of the call. With an ``idempotency-key``, a
        retry with the same request answers the same flow; another request under the key is
        INVALID_ARGUMENT IDEMPOTENCY_KEY_REUSED. Errors: INVALID_ARGUMENT FIELD_REQUIRED
        (``supplier_structure_id``), FLOW_SYNTAX_UNKNOWN (``syntax``), FILE_REQUIRED,
        FLOW_TOO_LARGE (``content``, 15 MiB), one violation per problem; PERMISSION_DENIED
        ACCESS_DENIED (no FACTURES_EMISES in MODIFICATION on the supplier); UNAVAILABLE
        STRUCTURES_UNAVAILABLE, DOCUMENT_WORKERS_STARTING (nothing stored).
        """
        caller = current_principal()
        metadata = dict(context.invocation_metadata() or ())
        flow = await self._flows.deposit(
            caller.user_id,
            request.supplier_structure_id,
            request.file_name,
            request.syntax,
            request.content,
            idempotency_key=metadata.get(idempotency.METADATA_KEY, ""),
        )
        # A single file is decided now; an archive's files by the flow worker, which counts them.
        accepted = sum(1 for item in flow.items if item.deposited)
        deposit_metrics.count("flow", "accepted", accepted)
        deposit_metrics.count("flow", "refused", len(flow.items) - accepted)
        return pb.DepositFlowResponse(flow=mapping.flow_to_proto(flow))

    async def GetFlow(self, request: pb.GetFlowRequest, context):
        """The flow with its report: state, notes, and per file the invoice it became
        (``invoice_id``, ``invoice_cpp_id``) or its errors. Visible to whoever may consult
        the supplier structure's FACTURES_EMISES. Errors: NOT_FOUND FLOW_NOT_FOUND (unknown,
        malformed or not visible)."""
        flow = await self._flows.get(current_principal().user_id, request.number)
        return pb.GetFlowResponse(flow=mapping.flow_to_proto(flow))
