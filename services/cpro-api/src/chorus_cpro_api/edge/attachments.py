"""Attachments by integer id (``pieceJointeId`` of ``transverses/v1/ajouter/fichier``), as the
deposits and completions that use them name them."""

from __future__ import annotations

from google.protobuf.message import Message

from chorus_cpro_api.edge.envelope import invalid_field


def add_staged(request: Message, piece_id: int, field: str) -> None:
    """Names the staged attachment ``piece_id`` in a ``CompleteInvoiceRequest`` or a
    ``DepositPdfInvoiceRequest`` (its ``staged_attachment_cpp_ids``)."""
    if "staged_attachment_cpp_ids" not in request.DESCRIPTOR.fields_by_name:
        raise invalid_field(field, "pièces jointes par identifiant entier pas encore disponibles.")
    if piece_id <= 0:
        raise invalid_field(field, "identifiant de pièce jointe (pieceJointeId) attendu.")
    request.staged_attachment_cpp_ids.append(piece_id)  # type: ignore[attr-defined]
