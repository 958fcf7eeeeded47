"""Whether an invoice may be addressed to a recipient, given the recipient's routing parameters.

The recipient must be a public, active structure. Its parameters decide what the supplier has
to give: a service code (which must then name one of its active services), an engagement
(purchase order) number — required by the structure or by the chosen service — or at least one
of the two.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.invoice import InvoiceContent


@dataclass(frozen=True)
class RecipientService:
    code: str
    active: bool
    engagement_required: bool
    reserved_for_public_suppliers: bool = False
    """FACTURES_PUBLIQUES: only public suppliers may address invoices to it."""


@dataclass(frozen=True)
class Recipient:
    """A recipient structure as the structures service describes it."""

    structure_id: str
    raison_sociale: str
    public: bool
    active: bool
    service_code_required: bool = False
    engagement_required: bool = False
    service_or_engagement_required: bool = False
    payment_status_not_reported: bool = False
    services: tuple[RecipientService, ...] = ()
    identifier_type: str = ""
    """``SIRET``…, with ``identifier``: how the directory identifies the structure."""
    identifier: str = ""
    vat_number: str = ""
    address: tuple[str, str, str, str, str] = ("", "", "", "", "")
    """line 1, line 2, postal code, city, ISO country code."""

    def service(self, code: str) -> RecipientService | None:
        """The active service with this code (codes compare case-insensitively)."""
        wanted = code.casefold()
        return next((s for s in self.services if s.active and s.code.casefold() == wanted), None)


def check_routing(
    recipient: Recipient,
    service_code: str,
    engagement_number: str,
    *,
    supplier_public: bool = False,
) -> str:
    """The service code as the recipient spells it ("" for none).

    ``supplier_public``: the supplier is a public structure (may address reserved services).

    Raises InvalidArgument with the first routing rule the invoice breaks.
    """
    if not recipient.public:
        raise invalid(
            "RECIPIENT_NOT_PUBLIC",
            "recipient",
            f"{recipient.raison_sociale} n'est pas une structure publique : seules les"
            " structures publiques reçoivent des factures sur Chorus.",
        )
    if not recipient.active:
        raise invalid(
            "RECIPIENT_INACTIVE",
            "recipient",
            f"{recipient.raison_sociale} est inactive et ne reçoit plus de factures.",
        )
    service = None
    if service_code:
        service = recipient.service(service_code)
        if service is None:
            raise invalid(
                "SERVICE_CODE_UNKNOWN",
                "service_code",
                f"Le code service {service_code} n'existe pas ou n'est plus actif chez"
                f" {recipient.raison_sociale}.",
            )
        if service.reserved_for_public_suppliers and not supplier_public:
            raise invalid(
                "SERVICE_RESERVED",
                "service_code",
                f"Le service {service.code} de {recipient.raison_sociale} est réservé aux"
                " factures entre structures publiques : choisissez un autre code service.",
            )
    elif recipient.service_code_required:
        raise invalid(
            "SERVICE_CODE_REQUIRED",
            "service_code",
            f"{recipient.raison_sociale} exige un code service : indiquez-le.",
        )
    engagement_required = recipient.engagement_required or (
        service is not None and service.engagement_required
    )
    if engagement_required and not engagement_number:
        raise invalid(
            "ENGAGEMENT_REQUIRED",
            "engagement_number",
            "Ce destinataire exige un numéro d'engagement (bon de commande) : indiquez-le.",
        )
    if recipient.service_or_engagement_required and not (service_code or engagement_number):
        raise invalid(
            "SERVICE_OR_ENGAGEMENT_REQUIRED",
            "service_code",
            "Ce destinataire exige un code service ou un numéro d'engagement : indiquez l'un"
            " des deux.",
        )
    return service.code if service else ""


def routed(
    content: InvoiceContent, recipient: Recipient, supplier: Recipient | None
) -> InvoiceContent:
    """``content`` with the service code as the recipient spells it; InvalidArgument for the
    first routing rule broken (:func:`check_routing`; the supplier's kind decides reserved
    services)."""
    service_code = check_routing(
        recipient,
        content.service_code,
        content.engagement_number,
        supplier_public=bool(supplier and supplier.public),
    )
    return replace(content, service_code=service_code)
