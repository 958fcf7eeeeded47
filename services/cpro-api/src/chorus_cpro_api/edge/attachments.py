"""Attachments by integer id (``pieceJointeId`` of ``transverses/v1/ajouter/fichier``), as the
deposits and completions that use them name them: invoices' ``staged_attachment_ids`` take a
staged file's integer ``cpp_id`` as a decimal string."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as ipb

from chorus_cpro_api.edge.envelope import invalid_field


def add_staged(
    request: ipb.CompleteInvoiceRequest | ipb.DepositPdfInvoiceRequest, piece_id: int, field: str
) -> None:
    """Names the staged attachment ``piece_id`` in a completion or a PDF deposit."""
    if piece_id <= 0:
        raise invalid_field(field, "identifiant de pièce jointe (pieceJointeId) attendu.")
    request.staged_attachment_ids.append(str(piece_id))
