"""The reference lists of ``transverses/v1/recuperer/*``: static data, field names as
go-choruspro reads them (``transverses_tva.go``, ``transverses_misc.go``,
``transverses_flux.go``, ``transverses_types.go``, ``transverses_etats.go``,
``transverses_pieces_jointes.go``), values from the official Swagger's enums and the
standards (ISO 4217 currencies and ISO 3166-1 countries through ``pycountry``, in French by
default, in English with ``codeLangue`` ``en``)."""

from __future__ import annotations

import gettext
from functools import cache
from typing import Any

import pycountry

FLOW_SYNTAXES = (
    "IN_DP_E1_UBL_INVOICE",
    "IN_DP_E1_CII",
    "IN_DP_E1_PES_FACTURE",
    "IN_DP_E1_XCBL",
    "IN_DP_E2_UBL_INVOICE_MIN",
    "IN_DP_E2_CII_MIN",
    "IN_DP_E2_PES_FACTURE_MIN",
    "IN_DP_E2_CPP_FACTURE_MIN",
    "IN_DP_PDFARCHIVE_UBL_INVOICE_MUG",
    "IN_DP_PDFARCHIVE_CII_MUG",
    "IN_DP_E1_CII_16B",
    "IN_DP_E2_CII_MIN_16B",
    "IN_DP_E2_CII_FACTURX",
)
"""The 13 ``syntaxeFlux`` of the Swagger (``DeposerFluxFactureParam``) and of chorus-api's
``SyntaxFlux``; the Swagger's response enum lists 11 of them."""

# (code, label, value): the French VAT rates, mainland, Corsica and the overseas departments.
VAT_RATES = (
    ("TVA_20", "Taux normal 20 %", 20.0),
    ("TVA_10", "Taux intermédiaire 10 %", 10.0),
    ("TVA_5_5", "Taux réduit 5,5 %", 5.5),
    ("TVA_2_1", "Taux particulier 2,1 %", 2.1),
    ("TVA_13", "Corse 13 %", 13.0),
    ("TVA_0_9", "Corse 0,9 %", 0.9),
    ("TVA_8_5", "Guadeloupe, Martinique, La Réunion 8,5 %", 8.5),
    ("TVA_1_75", "Guadeloupe, Martinique, La Réunion 1,75 %", 1.75),
    ("TVA_1_05", "Guadeloupe, Martinique, La Réunion 1,05 %", 1.05),
    ("TVA_0", "Exonération ou taux nul 0 %", 0.0),
)

# VATEX codes (CEF code list used by EN 16931 BT-121) most French invoices need.
VAT_EXEMPTIONS = (
    ("VATEX-FR-FRANCHISE", "Franchise en base de TVA, art. 293 B du CGI"),
    ("VATEX-FR-CNWVAT", "Facture émise sans TVA (hors champ)"),
    ("VATEX-EU-AE", "Autoliquidation"),
    ("VATEX-EU-D", "Régime particulier des agences de voyage"),
    ("VATEX-EU-F", "Régime particulier des biens d'occasion"),
    ("VATEX-EU-G", "Exportation hors de l'Union européenne"),
    ("VATEX-EU-I", "Régime particulier des objets d'art"),
    ("VATEX-EU-IC", "Livraison intracommunautaire"),
    ("VATEX-EU-J", "Régime particulier des objets de collection et d'antiquité"),
    ("VATEX-EU-O", "Hors du champ d'application de la TVA"),
    ("VATEX-EU-79-C", "Exonération, art. 79 point c de la directive 2006/112/CE"),
    ("VATEX-EU-132", "Exonération, art. 132 de la directive 2006/112/CE"),
    ("VATEX-EU-143", "Exonération, art. 143 de la directive 2006/112/CE"),
    ("VATEX-EU-148", "Exonération, art. 148 de la directive 2006/112/CE"),
    ("VATEX-EU-151", "Exonération, art. 151 de la directive 2006/112/CE"),
    ("VATEX-EU-309", "Exonération, art. 309 de la directive 2006/112/CE"),
)

PAYMENT_MODES = ("CHEQUE", "PRELEVEMENT", "VIREMENT", "ESPECE", "AUTRE", "REPORT")
"""``modePaiement`` of the Swagger (``references.modePaiement``)."""

DEPOSIT_MODES = (
    "SAISIE_WEB",
    "PORTAIL_PDF",
    "EDI_XML_STRUCT",
    "EDI_MIXTE",
    "EDI_PDF_ARCHIVE",
    "SAISIE_PORTAIL",
    "SAISIE_API",
    "DEPOT_PDF_PORTAIL",
    "DEPOT_PDF_SIGNE_PORTAIL",
    "DEPOT_PDF_API",
    "DEPOT_PDF_SIGNE_API",
    "EDI",
    "UPLOAD_PORTAIL",
    "UPLOAD_API",
    "EDI_NUMERISATION",
)
"""``modeDepot`` of the Swagger (``WsRetourConsulterHistoriqueFacture``)."""

FRAMEWORKS = (
    "A1_FACTURE_FOURNISSEUR",
    "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
    "A9_FACTURE_SOUSTRAITANT",
    "A12_FACTURE_COTRAITANT",
)
"""The ``codeCadreFacturation`` Chorus takes (the others need validation circuits)."""

PAYMENT_REQUEST_TYPES = ("FACTURE",)
"""``typeDemandePaiement`` Chorus handles (works invoices and memoirs are not modelled)."""

IDENTIFIER_TYPES = ("SIRET", "UE_HORS_FRANCE", "HORS_UE", "RIDET", "TAHITI", "AUTRE", "PARTICULIER")

RECIPIENT_STATUSES = (
    "PRISE_EN_COMPTE_DESTINATAIRE",
    "SERVICE_FAIT",
    "MANDATEE",
    "MISE_A_DISPOSITION_COMPTABLE",
    "COMPTABILISEE",
    "MISE_EN_PAIEMENT",
    "SUSPENDUE",
    "A_RECYCLER",
    "REJETEE",
)
"""Statuses a recipient may set through ``traiter/recue`` (the invoices service decides,
invoice by invoice, whether the move from its current status is allowed: SUSPENDUE,
A_RECYCLER and REJETEE need a ``motif``)."""

PAYMENT_REQUEST_STATES = (
    "DEPOSEE",
    "EN_COURS_ACHEMINEMENT",
    "MISE_A_DISPOSITION",
    "PRISE_EN_COMPTE_DESTINATAIRE",
    "SERVICE_FAIT",
    "MANDATEE",
    "MISE_A_DISPOSITION_COMPTABLE",
    "COMPTABILISEE",
    "MISE_EN_PAIEMENT",
    "SUSPENDUE",
    "COMPLETEE",
    "A_RECYCLER",
    "REJETEE",
)

# (id, code, label, object type) of the attachments Chorus keeps with an invoice.
ATTACHMENT_TYPES = (
    (1, "FACTURE", "Facture (pièce principale)", "FACTURE"),
    (2, "PIECE_JOINTE_COMPLEMENTAIRE", "Pièce jointe complémentaire", "FACTURE"),
    (3, "BON_DE_COMMANDE", "Bon de commande", "FACTURE"),
    (4, "BON_DE_LIVRAISON", "Bon de livraison", "FACTURE"),
    (5, "CONTRAT", "Contrat ou marché", "FACTURE"),
)

# Codes ISO 4217 that are no currency of payment: precious metals, funds, testing.
_NOT_PAYABLE = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS",
                "XUA", "XXX"}  # fmt: skip


def language(code_langue: str | None) -> str:
    """``en`` when asked for English, else ``fr`` (the default, whatever else is asked)."""
    return "en" if (code_langue or "").strip().lower().startswith("en") else "fr"


@cache
def _translation(domain: str, lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang], fallback=True)


@cache
def currencies(lang: str = "fr") -> tuple[dict[str, Any], ...]:
    translate = _translation("iso4217", lang).gettext
    return tuple(
        {"codeDevise": c.alpha_3, "libelleDevise": translate(c.name)}
        for c in sorted(pycountry.currencies, key=lambda c: c.alpha_3)
        if c.alpha_3 not in _NOT_PAYABLE
    )


@cache
def countries(lang: str = "fr") -> tuple[dict[str, Any], ...]:
    translate = _translation("iso3166-1", lang).gettext
    return tuple(
        {"codePays": c.alpha_2, "libellePays": translate(c.name)}
        for c in sorted(pycountry.countries, key=lambda c: c.alpha_2)
    )


def vat_rates() -> list[dict[str, Any]]:
    return [
        {"codeTauxTva": code, "libelleTauxTva": label, "valeurTauxTva": value}
        for code, label, value in VAT_RATES
    ]


def vat_exemptions() -> list[dict[str, Any]]:
    return [
        {"codeMotifExonerationTva": code, "libelleMotifExonerationTva": label}
        for code, label in VAT_EXEMPTIONS
    ]


def attachment_types(object_type: str | None = None) -> list[dict[str, Any]]:
    wanted = (object_type or "").strip().upper()
    return [
        {
            "idTypePieceJointe": ident,
            "codeTypePieceJointe": code,
            "libelleTypePieceJointe": label,
            "typeObjet": kind,
        }
        for ident, code, label, kind in ATTACHMENT_TYPES
        if not wanted or kind == wanted
    ]
