"""The EN 16931 semantic model of an invoice as both fronts read it: ``Invoice.document_json``
(GetInvoice) parsed into typed models, for ``GET /api/v1/invoices/{id}`` (its ``document``)
and the portal's invoice page.

The JSON is the invoices service's ``domain/en16931_codec`` shape, and these models mirror
it field by field: one model per business group (BG-n), one field per business term (BT-n),
named as the service names them. Amounts, quantities, prices and rates are decimal strings
exactly as the invoice states them (``"12.50"`` stays ``"12.50"``), dates ``YYYY-MM-DD``,
repeatable groups arrays. What the invoice does not state is left out, in the JSON read and in
the JSON answered (a field at its default is not written). Fields the gateway does not know yet
are ignored, so a richer service never breaks the gateway.

One departure: an additional supporting document (BG-24) embedded in the invoice is not
handed out in the model. Its BT-125 content is replaced by ``size`` (bytes) and
``has_content``; its file name, MIME code and reference (BT-122) stay.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_serializer,
    model_validator,
)

logger = logging.getLogger(__name__)

_DECIMAL = "Décimal en texte, tel qu'indiqué dans la facture."


class DocumentPart(BaseModel):
    """Base of the model's groups: unknown fields ignored on reading, fields at their
    default (absent from the invoice) left out on writing."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler):
        # No return annotation: the serialization schema stays the model's own, so the
        # fields are typed in OpenAPI (a ``dict`` return type would make it a bare object).
        data = handler(self)
        fields = type(self).model_fields
        return {
            name: value
            for name, value in data.items()
            if name not in fields
            or fields[name].is_required()
            or getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }


class Identifier(DocumentPart):
    """An identifier and its scheme (ISO 6523 ICD, EAS…): BT-29/29-1, BT-46/46-1…"""

    value: str
    scheme: str = Field("", description='Schéma d\'identification, ex. "0009" SIRET, "0002" SIREN.')


class Note(DocumentPart):
    """BG-1 Note de facture."""

    text: str = Field(description="BT-22 Texte de la note.")
    subject_code: str = Field("", description="BT-21 Code du sujet (UNTDID 4451 : AAI, REG, PMT…).")


class PrecedingInvoice(DocumentPart):
    """BG-3 Référence à une facture antérieure."""

    number: str = Field(description="BT-25 Numéro de la facture antérieure.")
    issue_date: dt.date | None = Field(None, description="BT-26 Sa date d'émission.")


class Address(DocumentPart):
    """BG-5 / BG-8 / BG-12 / BG-15 Adresse postale."""

    line1: str = Field("", description="BT-35 / BT-50 / BT-64 / BT-75 Ligne 1.")
    line2: str = Field("", description="BT-36 / BT-51 / BT-65 / BT-76 Ligne 2.")
    line3: str = Field("", description="BT-162 / BT-163 / BT-164 / BT-165 Ligne 3.")
    city: str = Field("", description="BT-37 / BT-52 / BT-66 / BT-77 Ville.")
    postal_code: str = Field("", description="BT-38 / BT-53 / BT-67 / BT-78 Code postal.")
    subdivision: str = Field("", description="BT-39 / BT-54 / BT-68 / BT-79 Subdivision du pays.")
    country: str = Field("", description="BT-40 / BT-55 / BT-69 / BT-80 Pays (ISO 3166-1 alpha-2).")


class Contact(DocumentPart):
    """BG-6 / BG-9 Contact."""

    point: str = Field("", description="BT-41 / BT-56 Point de contact.")
    telephone: str = Field("", description="BT-42 / BT-57 Téléphone.")
    email: str = Field("", description="BT-43 / BT-58 Adresse électronique.")


class Seller(DocumentPart):
    """BG-4 Vendeur."""

    name: str = Field(description="BT-27 Raison sociale du vendeur.")
    trading_name: str = Field("", description="BT-28 Nom commercial.")
    identifiers: list[Identifier] = Field([], description="BT-29 Identifiants du vendeur.")
    legal_registration: Identifier | None = Field(
        None, description='BT-30 Immatriculation légale (schéma "0009" SIRET, "0002" SIREN).'
    )
    vat_identifier: str = Field("", description="BT-31 Numéro de TVA intracommunautaire.")
    tax_registration: str = Field("", description="BT-32 Identifiant fiscal.")
    additional_legal_information: str = Field(
        "", description="BT-33 Informations juridiques complémentaires."
    )
    electronic_address: Identifier | None = Field(
        None, description="BT-34 Adresse électronique (schéma EAS)."
    )
    address: Address = Field(Address(), description="BG-5 Adresse postale du vendeur.")
    contact: Contact | None = Field(None, description="BG-6 Contact du vendeur.")


class Buyer(DocumentPart):
    """BG-7 Acheteur."""

    name: str = Field(description="BT-44 Raison sociale de l'acheteur.")
    trading_name: str = Field("", description="BT-45 Nom commercial.")
    identifier: Identifier | None = Field(None, description="BT-46 Identifiant de l'acheteur.")
    legal_registration: Identifier | None = Field(
        None, description="BT-47 Immatriculation légale (SIRET…)."
    )
    vat_identifier: str = Field("", description="BT-48 Numéro de TVA intracommunautaire.")
    electronic_address: Identifier | None = Field(
        None, description="BT-49 Adresse électronique (schéma EAS)."
    )
    address: Address = Field(Address(), description="BG-8 Adresse postale de l'acheteur.")
    contact: Contact | None = Field(None, description="BG-9 Contact de l'acheteur.")


class Payee(DocumentPart):
    """BG-10 Bénéficiaire du paiement."""

    name: str = Field(description="BT-59 Nom du bénéficiaire.")
    identifier: Identifier | None = Field(None, description="BT-60 Identifiant.")
    legal_registration: Identifier | None = Field(None, description="BT-61 Immatriculation légale.")


class TaxRepresentative(DocumentPart):
    """BG-11 Représentant fiscal du vendeur."""

    name: str = Field(description="BT-62 Nom.")
    vat_identifier: str = Field(description="BT-63 Numéro de TVA.")
    address: Address = Field(Address(), description="BG-12 Adresse postale.")


class Period(DocumentPart):
    """BG-14 Période de facturation / BG-26 Période de la ligne."""

    start: dt.date | None = Field(None, description="BT-73 / BT-134 Début.")
    end: dt.date | None = Field(None, description="BT-74 / BT-135 Fin.")


class Delivery(DocumentPart):
    """BG-13 Livraison."""

    party_name: str = Field("", description="BT-70 Nom du lieu ou du destinataire de livraison.")
    location: Identifier | None = Field(None, description="BT-71 Identifiant du lieu.")
    date: dt.date | None = Field(None, description="BT-72 Date de livraison effective.")
    address: Address | None = Field(None, description="BG-15 Adresse de livraison.")


class CreditTransfer(DocumentPart):
    """BG-17 Virement."""

    account: str = Field(description="BT-84 Compte à créditer (IBAN pour un virement SEPA).")
    account_name: str = Field("", description="BT-85 Titulaire du compte.")
    service_provider: str = Field("", description="BT-86 Prestataire de paiement (BIC).")


class PaymentCard(DocumentPart):
    """BG-18 Carte de paiement."""

    primary_account_number: str = Field(
        description="BT-87 Numéro de carte (au plus ses 4 à 6 derniers chiffres)."
    )
    holder_name: str = Field("", description="BT-88 Titulaire.")


class DirectDebit(DocumentPart):
    """BG-19 Prélèvement."""

    mandate_reference: str = Field("", description="BT-89 Référence du mandat.")
    creditor_identifier: str = Field("", description="BT-90 Identifiant créancier SEPA.")
    debited_account: str = Field("", description="BT-91 Compte débité.")


class PaymentInstructions(DocumentPart):
    """BG-16 Instructions de paiement."""

    means_code: str = Field(
        description="BT-81 Moyen de paiement (UNTDID 4461 : 30 virement, 58 virement SEPA,"
        " 49/59 prélèvement, 48/54/55 carte, 10 espèces, 20 chèque)."
    )
    means_text: str = Field("", description="BT-82 Libellé du moyen de paiement.")
    remittance_information: str = Field("", description="BT-83 Référence de paiement.")
    credit_transfers: list[CreditTransfer] = Field([], description="BG-17 Virements.")
    card: PaymentCard | None = Field(None, description="BG-18 Carte.")
    direct_debit: DirectDebit | None = Field(None, description="BG-19 Prélèvement.")


class AllowanceCharge(DocumentPart):
    """BG-20 Remise (``charge`` faux) / BG-21 Frais (``charge`` vrai) au niveau du document."""

    charge: bool = Field(description="Faux : remise (BG-20) ; vrai : frais (BG-21).")
    amount: str = Field(description="BT-92 / BT-99 Montant HT. " + _DECIMAL)
    base_amount: str | None = Field(None, description="BT-93 / BT-100 Assiette.")
    percentage: str | None = Field(None, description="BT-94 / BT-101 Pourcentage.")
    vat_category: str = Field("", description="BT-95 / BT-102 Catégorie de TVA (UNCL 5305).")
    vat_rate: str | None = Field(None, description="BT-96 / BT-103 Taux de TVA (%).")
    reason: str = Field("", description='BT-97 / BT-104 Motif, ex. "Remise globale".')
    reason_code: str = Field(
        "", description="BT-98 / BT-105 Code du motif (UNTDID 5189 remises, 7161 frais)."
    )


class LineAllowanceCharge(DocumentPart):
    """BG-27 Remise (``charge`` faux) / BG-28 Frais (``charge`` vrai) sur une ligne."""

    charge: bool = Field(description="Faux : remise (BG-27) ; vrai : frais (BG-28).")
    amount: str = Field(description="BT-136 / BT-141 Montant HT. " + _DECIMAL)
    base_amount: str | None = Field(None, description="BT-137 / BT-142 Assiette.")
    percentage: str | None = Field(None, description="BT-138 / BT-143 Pourcentage.")
    reason: str = Field("", description="BT-139 / BT-144 Motif.")
    reason_code: str = Field("", description="BT-140 / BT-145 Code du motif.")


class DocumentTotals(DocumentPart):
    """BG-22 Totaux du document, tels qu'indiqués."""

    line_total: str = Field(description="BT-106 Somme des montants nets des lignes.")
    tax_exclusive: str = Field(description="BT-109 Total HT.")
    tax_inclusive: str = Field(description="BT-112 Total TTC.")
    amount_due: str = Field(description="BT-115 Net à payer.")
    allowance_total: str | None = Field(None, description="BT-107 Somme des remises.")
    charge_total: str | None = Field(None, description="BT-108 Somme des frais.")
    vat_total: str | None = Field(None, description="BT-110 Total de la TVA.")
    vat_total_accounting: str | None = Field(
        None, description="BT-111 Total de la TVA dans la devise de comptabilisation (BT-6)."
    )
    prepaid: str | None = Field(None, description="BT-113 Montant déjà payé (acompte).")
    rounding: str | None = Field(None, description="BT-114 Arrondi.")


class VatBreakdown(DocumentPart):
    """BG-23 Ventilation de la TVA."""

    category: str = Field(description="BT-118 Catégorie de TVA (UNCL 5305 : S, Z, E, AE, K…).")
    taxable_amount: str = Field(description="BT-116 Base HT.")
    tax_amount: str = Field(description="BT-117 Montant de TVA.")
    rate: str | None = Field(None, description="BT-119 Taux (%), absent pour la catégorie O.")
    exemption_reason: str = Field("", description="BT-120 Motif d'exonération.")
    exemption_reason_code: str = Field(
        "", description="BT-121 Code du motif d'exonération (VATEX, ex. VATEX-EU-F)."
    )


class SupportingDocument(DocumentPart):
    """BG-24 Pièce justificative. Le contenu incorporé (BT-125) n'est pas transmis ici."""

    reference: str = Field(description="BT-122 Référence de la pièce.")
    description: str = Field("", description="BT-123 Description.")
    external_location: str = Field("", description="BT-124 Adresse externe (URL).")
    mime_code: str = Field("", description="BT-125-1 Type MIME du contenu incorporé.")
    filename: str = Field("", description="BT-125-2 Nom du fichier incorporé.")
    has_content: bool = Field(False, description="Vrai quand la facture incorpore le fichier.")
    size: int | None = Field(None, description="Taille du fichier incorporé, en octets.")

    @model_validator(mode="before")
    @classmethod
    def _content_as_size(cls, data: Any) -> Any:
        if isinstance(data, dict) and "content" in data:
            data = dict(data)
            content = data.pop("content")
            try:
                data["size"] = len(base64.b64decode(content or "", validate=True))
            except (binascii.Error, TypeError, ValueError):
                data["size"] = None
            data["has_content"] = True
        return data


class Price(DocumentPart):
    """BG-29 Détail du prix."""

    net_price: str = Field(description="BT-146 Prix unitaire net.")
    discount: str | None = Field(None, description="BT-147 Remise sur le prix unitaire.")
    gross_price: str | None = Field(None, description="BT-148 Prix unitaire brut.")
    base_quantity: str | None = Field(None, description="BT-149 Quantité de base du prix.")
    base_quantity_unit: str = Field("", description="BT-150 Unité de la quantité de base.")


class Classification(DocumentPart):
    """BT-158 Classification de l'article (schéma BT-158-1, ex. STI = CPV ; version BT-158-2)."""

    value: str
    scheme: str = ""
    version: str = ""


class ItemAttribute(DocumentPart):
    """BG-32 Attribut de l'article."""

    name: str = Field(description="BT-160 Nom.")
    value: str = Field(description="BT-161 Valeur.")


class Item(DocumentPart):
    """BG-31 Article."""

    name: str = Field(description="BT-153 Nom de l'article.")
    description: str = Field("", description="BT-154 Description.")
    seller_identifier: str = Field("", description="BT-155 Référence vendeur.")
    buyer_identifier: str = Field("", description="BT-156 Référence acheteur.")
    standard_identifier: Identifier | None = Field(
        None, description="BT-157 Identifiant normalisé (schéma 0160 : GTIN)."
    )
    classifications: list[Classification] = Field([], description="BT-158 Classifications.")
    origin_country: str = Field("", description="BT-159 Pays d'origine.")
    attributes: list[ItemAttribute] = Field([], description="BG-32 Attributs.")


class Line(DocumentPart):
    """BG-25 Ligne de facture."""

    identifier: str = Field(description="BT-126 Identifiant de la ligne.")
    quantity: str = Field(description="BT-129 Quantité facturée.")
    unit: str = Field(description="BT-130 Unité (UN/ECE rec. 20/21).")
    net_amount: str = Field(description="BT-131 Montant net de la ligne, tel qu'indiqué.")
    price: Price = Field(description="BG-29 Détail du prix.")
    vat_category: str = Field(description="BT-151 Catégorie de TVA.")
    item: Item = Field(description="BG-31 Article.")
    vat_rate: str | None = Field(None, description="BT-152 Taux de TVA (%).")
    note: str = Field("", description="BT-127 Note de ligne.")
    object_identifier: Identifier | None = Field(None, description="BT-128 Objet facturé.")
    order_line_reference: str = Field("", description="BT-132 Ligne de bon de commande.")
    buyer_accounting_reference: str = Field("", description="BT-133 Référence comptable.")
    period: Period | None = Field(None, description="BG-26 Période de la ligne.")
    allowances_charges: list[LineAllowanceCharge] = Field(
        [], description="BG-27 / BG-28 Remises et frais de la ligne, dans l'ordre du document."
    )


class InvoiceDocument(DocumentPart):
    """BG-0 La facture telle que la norme EN 16931 la décrit (ce que dit le fichier)."""

    number: str = Field(description="BT-1 Numéro de facture.")
    issue_date: dt.date = Field(description="BT-2 Date d'émission.")
    type_code: str = Field(
        description="BT-3 Type (UNTDID 1001 : 380 facture, 381 avoir, 384 rectificative,"
        " 386 acompte, 389 autofacture…)."
    )
    currency: str = Field(description="BT-5 Devise (ISO 4217).")
    seller: Seller = Field(description="BG-4 Vendeur.")
    buyer: Buyer = Field(description="BG-7 Acheteur.")
    totals: DocumentTotals = Field(description="BG-22 Totaux.")
    vat_breakdown: list[VatBreakdown] = Field(
        description="BG-23 Ventilation de la TVA, par catégorie et taux."
    )
    lines: list[Line] = Field(description="BG-25 Lignes.")
    specification_identifier: str = Field(
        "urn:cen.eu:en16931:2017", description="BT-24 Identifiant de spécification."
    )
    business_process: str = Field(
        "", description="BT-23 Processus métier (cadre de facturation A1… en France)."
    )
    vat_accounting_currency: str = Field(
        "", description="BT-6 Devise de comptabilisation de la TVA."
    )
    tax_point_date: dt.date | None = Field(None, description="BT-7 Date d'exigibilité de la TVA.")
    tax_point_date_code: str = Field("", description="BT-8 Code de la date d'exigibilité.")
    due_date: dt.date | None = Field(None, description="BT-9 Date d'échéance.")
    buyer_reference: str = Field("", description="BT-10 Référence acheteur (code service).")
    project_reference: str = Field("", description="BT-11 Référence du projet.")
    contract_reference: str = Field("", description="BT-12 Référence du contrat.")
    purchase_order_reference: str = Field(
        "", description="BT-13 Bon de commande (numéro d'engagement)."
    )
    sales_order_reference: str = Field("", description="BT-14 Commande client.")
    receiving_advice_reference: str = Field("", description="BT-15 Avis de réception.")
    despatch_advice_reference: str = Field("", description="BT-16 Avis d'expédition.")
    tender_reference: str = Field("", description="BT-17 Appel d'offres ou lot.")
    invoiced_object: Identifier | None = Field(None, description="BT-18 Objet facturé.")
    buyer_accounting_reference: str = Field(
        "", description="BT-19 Référence comptable de l'acheteur."
    )
    payment_terms: str = Field("", description="BT-20 Conditions de paiement.")
    notes: list[Note] = Field([], description="BG-1 Notes.")
    preceding_invoices: list[PrecedingInvoice] = Field([], description="BG-3 Factures antérieures.")
    payee: Payee | None = Field(None, description="BG-10 Bénéficiaire.")
    tax_representative: TaxRepresentative | None = Field(
        None, description="BG-11 Représentant fiscal."
    )
    delivery: Delivery | None = Field(None, description="BG-13 Livraison.")
    invoicing_period: Period | None = Field(None, description="BG-14 Période de facturation.")
    payment_instructions: PaymentInstructions | None = Field(
        None, description="BG-16 Instructions de paiement."
    )
    allowances_charges: list[AllowanceCharge] = Field(
        [], description="BG-20 / BG-21 Remises et frais du document, dans son ordre."
    )
    supporting_documents: list[SupportingDocument] = Field(
        [], description="BG-24 Pièces justificatives (sans leur contenu)."
    )


def parse_document(document_json: str) -> InvoiceDocument | None:
    """The model of ``Invoice.document_json``; None when empty, or when it does not read (the
    gateway then answers without it, and logs why: a reader never gets a 500 for it)."""
    if not document_json:
        return None
    try:
        return InvoiceDocument.model_validate(json.loads(document_json))
    except (ValueError, ValidationError) as error:
        logger.warning("invoice document_json unreadable: %s", str(error)[:500])
        return None
