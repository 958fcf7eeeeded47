"""Invoices as the Chorus Pro API shows them: statuses, types, deposit modes, the parties
(each structure read once per request), list lines of the searches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus.structures.v1 import structures_service_pb2 as spb

from chorus_cpro_api.clients.caller import Caller
from chorus_cpro_api.clients.structures import StructuresClient
from chorus_cpro_api.edge.envelope import invalid_field
from chorus_cpro_api.edge.formats import amount, date_of, iso_date, timestamp

# The statuses of the Swagger's 56 that Chorus has; the others name validation circuits,
# works invoices or states Chorus does not model.
STATUSES = {
    name.removeprefix("INVOICE_STATUS_"): value
    for name, value in ipb.InvoiceStatus.items()
    if value != ipb.INVOICE_STATUS_UNSPECIFIED
}

DEPOSIT_MODES = {
    ipb.DEPOSIT_MODE_ENTRY: "SAISIE_API",
    ipb.DEPOSIT_MODE_PDF: "DEPOT_PDF_API",
    ipb.DEPOSIT_MODE_FILE: "UPLOAD_PORTAIL",
    ipb.DEPOSIT_MODE_BATCH: "UPLOAD_PORTAIL",
    ipb.DEPOSIT_MODE_FLOW: "EDI",
}
"""``modeDepot``: an entry (portal form or ``soumettre``) is ``SAISIE_API``, a PDF deposit
``DEPOT_PDF_API``, a file or an archive from the portal or ``/api/v1`` ``UPLOAD_PORTAIL``, a
flow of ``deposer/flux`` ``EDI`` (Chorus Pro's mode for structured flows)."""

MODES_SHOWN_AS: dict[str, tuple[int, ...]] = {}
for _mode, _shown in DEPOSIT_MODES.items():
    MODES_SHOWN_AS[_shown] = (*MODES_SHOWN_AS.get(_shown, ()), _mode)
"""A ``modeDepot`` criterion: the deposit modes shown as it (none for the Swagger's other
values: no invoice here came in that way)."""

FRAMEWORKS = {
    ipb.FRAMEWORK_A1_FACTURE_FOURNISSEUR: "A1_FACTURE_FOURNISSEUR",
    ipb.FRAMEWORK_A2_FACTURE_FOURNISSEUR_DEJA_PAYEE: "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
    ipb.FRAMEWORK_A9_FACTURE_SOUSTRAITANT: "A9_FACTURE_SOUSTRAITANT",
    ipb.FRAMEWORK_A12_FACTURE_COTRAITANT: "A12_FACTURE_COTRAITANT",
}


FRAMEWORK_VALUES = {name: value for value, name in FRAMEWORKS.items()}
"""A ``cadreFacturation`` criterion (the Swagger's other frameworks: none here)."""

SORT_COLUMNS = {
    "DateDepot": ipb.LIST_ORDER_DEPOSITED_AT,
    "NumeroFacture": ipb.LIST_ORDER_NUMBER,
    "DateFacture": ipb.LIST_ORDER_ISSUE_DATE,
    "MontantHT": ipb.LIST_ORDER_NET_TOTAL,
    "MontantTTC": ipb.LIST_ORDER_GROSS_TOTAL,
    "MontantAPayer": ipb.LIST_ORDER_AMOUNT_DUE,
    "Statut": ipb.LIST_ORDER_STATUS,
    "TypeFacture": ipb.LIST_ORDER_TYPE,
    "Devise": ipb.LIST_ORDER_CURRENCY,
    "CodeServiceExecutant": ipb.LIST_ORDER_SERVICE_CODE,
    "NumeroBonCommande": ipb.LIST_ORDER_ENGAGEMENT_NUMBER,
    "NumeroFluxDepot": ipb.LIST_ORDER_FLOW_NUMBER,
    "NumeroFactureOrigine": ipb.LIST_ORDER_PRECEDING_INVOICE_NUMBER,
    "FactureTelechargeeParDestinataire": ipb.LIST_ORDER_DOWNLOADED_BY_RECIPIENT,
}
"""``triColonne`` → invoices' ``ListOrder``: the columns of the Swagger's lists Chorus keeps
on an invoice (the other party's name: :data:`COUNTERPARTY_COLUMNS`)."""
COUNTERPARTY_COLUMNS = {
    ipb.LIST_SIDE_ISSUED: ("DesignationDestinataire", "Destinataire"),
    ipb.LIST_SIDE_RECEIVED: ("DesignationFournisseur", "Fournisseur"),
}
SAME_FOR_ALL = {
    ipb.LIST_SIDE_ISSUED: (
        "TypeDemandePaiement",
        "TypeFactureTravaux",
        "CodeFournisseur",
        "TypeIdentifiantFournisseur",
        "DesignationFournisseur",
        "Fournisseur",
        "CodeServiceFournisseur",
        "NomServiceFournisseur",
    ),
    ipb.LIST_SIDE_RECEIVED: (
        "TypeDemandePaiement",
        "TypeFactureTravaux",
        "CodeDestinataire",
        "DesignationDestinataire",
        "Destinataire",
    ),
}
"""Columns with one value for every invoice of the list (the structure's own, or what Chorus
does not have: every invoice is a FACTURE request, no works invoices, no supplier services):
sorting on them is the default order."""


def sort_order(params: dict[str, Any], side: int, field: str) -> tuple[int, bool]:
    """(``ListOrder``, ascending) of a paging object's ``triColonne`` / ``triSens``
    (``Ascendant`` when only the column is named; the default order, deposit time newest
    first, without a column); 400 naming ``field``.triColonne for a column Chorus cannot sort
    on (the SIRET or the service name of the other party, a contract number, bank details,
    validators…)."""
    column = params.get("triColonne")
    if not column:
        return ipb.LIST_ORDER_UNSPECIFIED, False
    if column in SAME_FOR_ALL[side]:
        return ipb.LIST_ORDER_UNSPECIFIED, False
    ascending = params.get("triSens") != "Descendant"
    if column in COUNTERPARTY_COLUMNS[side]:
        return ipb.LIST_ORDER_COUNTERPARTY_NAME, ascending
    order = SORT_COLUMNS.get(column)
    if order is None:
        sortable = sorted((*SORT_COLUMNS, *COUNTERPARTY_COLUMNS[side]))
        raise invalid_field(
            f"{field}.triColonne",
            f"tri sur {column} non pris en charge ; colonnes possibles : "
            + ", ".join(sortable)
            + ".",
            "TRI_NON_GERE",
        )
    return order, ascending


def status_name(status: int) -> str:
    return ipb.InvoiceStatus.Name(status).removeprefix("INVOICE_STATUS_")


def status_value(name: str, field: str) -> int:
    """The invoice status of a Chorus Pro status name; 400 naming ``field`` for one Chorus does
    not have (a validation circuit's, a works invoice's…)."""
    value = STATUSES.get(name.strip().upper())
    if value is None:
        raise invalid_field(
            field,
            f"statut {name!r} non géré par Chorus ; statuts possibles : "
            + ", ".join(STATUSES)
            + ".",
            "STATUT_NON_GERE",
        )
    return value


def type_name(kind: int) -> str:
    return "AVOIR" if kind == ipb.INVOICE_TYPE_AVOIR else "FACTURE"


def type_value(name: str) -> int:
    """``FACTURE`` (and ``ACOMPTE``, an invoice to Chorus) or ``AVOIR``."""
    return ipb.INVOICE_TYPE_AVOIR if name == "AVOIR" else ipb.INVOICE_TYPE_FACTURE


def identifier_type(structure: spb.Structure) -> str:
    return spb.IdentifierType.Name(structure.identifier_type).removeprefix("IDENTIFIER_TYPE_")


class Parties:
    """The structures an answer names, each read once (``GetStructure`` by id: a structure's
    random id is enough to read it). One that cannot be read is left out, never a failure."""

    def __init__(self, structures: StructuresClient, caller: Caller) -> None:
        self._structures = structures
        self._caller = caller
        self._found: dict[str, spb.Structure | None] = {}

    async def load(self, ids: Iterable[str]) -> None:
        missing = sorted({i for i in ids if i and i not in self._found})
        results = await asyncio.gather(*(self._get(i) for i in missing))
        self._found.update(zip(missing, results, strict=True))

    async def _get(self, structure_id: str) -> spb.Structure | None:
        try:
            return await self._structures.get_structure(
                spb.GetStructureRequest(structure_id=structure_id), self._caller
            )
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            return None

    def get(self, structure_id: str) -> spb.Structure | None:
        return self._found.get(structure_id)

    async def by_cpp_id(self, cpp_id: int) -> spb.Structure:
        """A structure by its integer id (NOT_FOUND raised as a gRPC error)."""
        structure = await self._structures.get_structure(
            spb.GetStructureRequest(cpp_id=cpp_id), self._caller
        )
        self._found[structure.id] = structure
        return structure


def service_of(structure: spb.Structure | None, code: str) -> spb.StructureService | None:
    if structure is None or not code:
        return None
    return next((s for s in structure.services if s.code.upper() == code.upper()), None)


def _party_fields(invoice: ipb.Invoice, parties: Parties) -> dict[str, Any]:
    supplier = parties.get(invoice.supplier_structure_id)
    recipient = parties.get(invoice.recipient_structure_id)
    service = service_of(recipient, invoice.service_code)
    fields: dict[str, Any] = {}
    if supplier is not None:
        fields |= {
            "codeFournisseur": supplier.identifier,
            "typeIdentifiantFournisseur": identifier_type(supplier),
            "designationFournisseur": supplier.raison_sociale or supplier.libelle,
        }
    if recipient is not None:
        fields |= {
            "idDestinataire": recipient.cpp_id,
            "codeDestinataire": recipient.identifier,
            "designationDestinataire": recipient.raison_sociale or recipient.libelle,
        }
    if invoice.service_code:
        fields["codeServiceExecutant"] = invoice.service_code
    if service is not None:
        fields |= {"idServiceExecutant": service.cpp_id, "nomServiceExecutant": service.name}
    return fields


def _common_line(invoice: ipb.Invoice) -> dict[str, Any]:
    totals = invoice.totals
    line: dict[str, Any] = {
        "typeDemandePaiement": "FACTURE",
        "typeFacture": type_name(invoice.type),
        "numeroFacture": invoice.number,
        "dateFacture": iso_date(invoice.issue_date),
        "dateDepot": date_of(invoice.created_at),
        "montantHT": amount(totals.net_total),
        "montantTTC": amount(totals.gross_total),
        "montantAPayer": amount(totals.amount_due or totals.gross_total),
        "devise": invoice.currency or "EUR",
        "statut": status_name(invoice.status),
        "numeroBonCommande": invoice.engagement_number,
        "dateHeureEtatCourant": timestamp(invoice.updated_at),
    }
    return {k: v for k, v in line.items() if v is not None}


def supplier_line(invoice: ipb.Invoice, parties: Parties) -> dict[str, Any]:
    """``RetourRechercherFactureParFournisseur``: one issued invoice of a search."""
    line = {"identifiantFactureCPP": invoice.cpp_id, **_common_line(invoice)}
    line |= _party_fields(invoice, parties)
    if invoice.flow_number:
        line["numeroFluxDepot"] = invoice.flow_number
    if mode := DEPOSIT_MODES.get(invoice.deposit_mode):
        line["modeDepot"] = mode
    line["rejetTraite"] = invoice.HasField("rejection_acknowledged_at")
    if invoice.preceding_invoice_number:
        line["numeroFactureOrigine"] = invoice.preceding_invoice_number
    return line


def recipient_line(invoice: ipb.Invoice, parties: Parties) -> dict[str, Any]:
    """``FactureRechercheRecipiendaire``: one received invoice of a search."""
    line = {"idFacture": invoice.cpp_id, **_common_line(invoice)}
    line |= _party_fields(invoice, parties)
    line["factureTelechargeeParDestinataire"] = invoice.HasField("recipient_downloaded_at")
    return line


def parties_of(invoices: Iterable[ipb.Invoice]) -> set[str]:
    ids: set[str] = set()
    for invoice in invoices:
        ids.update((invoice.supplier_structure_id, invoice.recipient_structure_id))
    return ids
