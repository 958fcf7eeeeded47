"""Flows (Chorus Pro ``deposer/flux``): what a flow is, its states, its report, and the rules
of a deposit call — pure, no I/O.

A flow is one file (a UBL, CII or Factur-X invoice) or an archive (ZIP, tar.gz) of them,
deposited under one of the 13 Chorus Pro ``syntaxeFlux`` constants. Each file is checked and
deposited like any structured file; the flow's report has one line (:class:`FlowItem`) per
file: the invoice it became, or its errors, each with the rule, the XPath in the invoice XML
and a French message (:func:`errors_of`). The flow ends ``IN_INTEGRE`` (every file
deposited), ``IN_INTEGRE_PARTIEL`` (some) or ``IN_REJETE`` (none, or the archive itself
refused) — never a state clients read as success before it is decided.

Clients mislabel their files (UBL sent under the default ``IN_DP_E2_CII_FACTURX``): a file is
read as what it is (:func:`sniff`), and the report says so in a note (:func:`mislabel_note`).
Only a malformed call is refused (:func:`check_deposit`): no supplier, an unknown syntax, no
content, too large.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chorus_platform.errors import DomainError, FieldViolation, InvalidArgument, NotFound

MAX_FLOW_BYTES = 15 * 1024 * 1024
"""Largest flow a deposit accepts (a gRPC message carries 16 MiB)."""
MAX_FILE_NAME = 200
NUMBER_PREFIX = "CPP"
NUMBER_DIGITS = 22


class FlowState(StrEnum):
    """Chorus Pro ``etatCourantFlux``, the states a flow of Chorus goes through."""

    IN_EN_ATTENTE_TRAITEMENT_CPP = "IN_EN_ATTENTE_TRAITEMENT_CPP"
    IN_EN_COURS_TRAITEMENT_CPP = "IN_EN_COURS_TRAITEMENT_CPP"
    IN_INTEGRE = "IN_INTEGRE"
    IN_INTEGRE_PARTIEL = "IN_INTEGRE_PARTIEL"
    IN_REJETE = "IN_REJETE"


PENDING = (FlowState.IN_EN_ATTENTE_TRAITEMENT_CPP, FlowState.IN_EN_COURS_TRAITEMENT_CPP)


class Format(StrEnum):
    """What a file is, by its first bytes."""

    ZIP = "ZIP"
    TAR_GZ = "TAR_GZ"
    PDF = "PDF"
    UBL_INVOICE = "UBL_INVOICE"
    UBL_CREDIT_NOTE = "UBL_CREDIT_NOTE"
    CII = "CII"
    OTHER = "OTHER"

    @property
    def archive(self) -> bool:
        return self in (Format.ZIP, Format.TAR_GZ)


# The format family each syntaxeFlux names (SWG-F DeposerFluxFactureParam.syntaxeFlux).
_UBL, _CII, _FACTURX, _PES, _XCBL, _CPP = "UBL", "CII", "FACTURX", "PES", "XCBL", "CPP"
SYNTAXES: dict[str, str] = {
    "IN_DP_E1_UBL_INVOICE": _UBL,
    "IN_DP_E1_CII": _CII,
    "IN_DP_E1_PES_FACTURE": _PES,
    "IN_DP_E1_XCBL": _XCBL,
    "IN_DP_E2_UBL_INVOICE_MIN": _UBL,
    "IN_DP_E2_CII_MIN": _CII,
    "IN_DP_E2_PES_FACTURE_MIN": _PES,
    "IN_DP_E2_CPP_FACTURE_MIN": _CPP,
    "IN_DP_PDFARCHIVE_UBL_INVOICE_MUG": _UBL,
    "IN_DP_PDFARCHIVE_CII_MUG": _CII,
    "IN_DP_E1_CII_16B": _CII,
    "IN_DP_E2_CII_MIN_16B": _CII,
    "IN_DP_E2_CII_FACTURX": _FACTURX,
}
_FAMILY_OF_FORMAT = {
    Format.UBL_INVOICE: _UBL,
    Format.UBL_CREDIT_NOTE: _UBL,
    Format.CII: _CII,
    Format.PDF: _FACTURX,
}
_FAMILY_LABELS = {
    _UBL: "UBL 2.1",
    _CII: "UN/CEFACT CII",
    _FACTURX: "Factur-X (PDF)",
    _PES: "PES Facture",
    _XCBL: "xCBL",
    _CPP: "CPP Facture",
}


@dataclass(frozen=True)
class FlowError:
    rule: str
    """An EN 16931 rule id (BR-CO-15), XSD, or Chorus' own reason (SELLER_MISMATCH…)."""
    xpath: str
    """Where in the invoice XML; "/" for the whole file."""
    message: str
    reason: str
    """The refusal's stable reason (EN16931_RULES_FAILED, INVOICE_NUMBER_DUPLICATE…)."""


@dataclass(frozen=True)
class FlowItem:
    """One line of the report: a file of the flow and what became of it."""

    seq: int
    file: str
    invoice_number: str = ""
    supplier_identifier: str = ""
    recipient_identifier: str = ""
    invoice_id: str = ""
    invoice_cpp_id: int = 0
    errors: tuple[FlowError, ...] = ()

    @property
    def deposited(self) -> bool:
        return bool(self.invoice_id)


@dataclass(frozen=True)
class Flow:
    id: str
    number: str
    supplier_structure_id: str
    depositor: str
    file_name: str
    syntax: str
    sha256: str
    size: int
    state: FlowState
    deposited_at: datetime
    state_at: datetime
    idempotency_key: str = ""
    notes: tuple[str, ...] = ()
    errors: tuple[FlowError, ...] = ()
    """Errors of the flow as a whole (an archive that cannot be read): no item then."""
    items: tuple[FlowItem, ...] = field(default=())


def flow_number(sequence_value: int) -> str:
    """``CPP`` + the value on 22 digits: ``CPP0000000000000000000042``."""
    return f"{NUMBER_PREFIX}{sequence_value:0{NUMBER_DIGITS}d}"


def parse_flow_number(number: str) -> str:
    """The number as stored (upper case, trimmed); FlowNotFound for anything that cannot be
    one (nothing is looked up for it)."""
    number = number.strip().upper()
    digits = number.removeprefix(NUMBER_PREFIX)
    if (
        not number.startswith(NUMBER_PREFIX)
        or len(digits) != NUMBER_DIGITS
        or not digits.isascii()
        or not digits.isdigit()
    ):
        raise FlowNotFound()
    return number


class FlowNotFound(NotFound):
    """Unknown, or the caller may not see it: both answer the same."""

    def __init__(self) -> None:
        super().__init__("FLOW_NOT_FOUND", "Flux introuvable.")


def check_deposit(supplier_structure_id: str, syntax: str, content: bytes) -> None:
    """The call itself is well formed; InvalidArgument with one violation per problem
    otherwise: FIELD_REQUIRED (supplier), FLOW_SYNTAX_UNKNOWN, FILE_REQUIRED, FLOW_TOO_LARGE
    (the first problem names the reason)."""
    problems: list[tuple[str, FieldViolation]] = []
    if not supplier_structure_id.strip():
        problems.append(
            (
                "FIELD_REQUIRED",
                FieldViolation("supplier_structure_id", "Indiquez la structure qui dépose."),
            )
        )
    if syntax.strip() not in SYNTAXES:
        shown = syntax.strip()[:60] or "(aucune)"
        problems.append(
            (
                "FLOW_SYNTAX_UNKNOWN",
                FieldViolation(
                    "syntax",
                    f"Syntaxe de flux « {shown} » inconnue : attendu l'une de "
                    + ", ".join(SYNTAXES)
                    + ".",
                ),
            )
        )
    if not content:
        problems.append(
            ("FILE_REQUIRED", FieldViolation("content", "Joignez le fichier du flux (non vide)."))
        )
    elif len(content) > MAX_FLOW_BYTES:
        problems.append(
            (
                "FLOW_TOO_LARGE",
                FieldViolation(
                    "content",
                    f"Le flux dépasse {MAX_FLOW_BYTES // 1024**2} Mo : déposez-le en plusieurs"
                    " fois.",
                ),
            )
        )
    if problems:
        reason, first = problems[0]
        raise InvalidArgument(reason, first.description, [v for _, v in problems])


def sniff(content: bytes) -> Format:
    """What the file is, by its magic numbers and, for XML, its root namespace."""
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Format.ZIP
    if content.startswith(b"\x1f\x8b"):
        return Format.TAR_GZ
    if b"%PDF-" in content[:1024]:
        return Format.PDF
    head = content[:65536]
    if b"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2" in head:
        return Format.UBL_CREDIT_NOTE
    if b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in head:
        return Format.UBL_INVOICE
    if b"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" in head:
        return Format.CII
    return Format.OTHER


def mislabel_note(syntax: str, found: Iterable[Format]) -> tuple[str, ...]:
    """A French note per invoice format found that is not what ``syntax`` names (the files
    are read as what they are)."""
    expected = SYNTAXES.get(syntax)
    families = []
    for fmt in found:
        family = _FAMILY_OF_FORMAT.get(fmt)
        if family is not None and family != expected and family not in families:
            families.append(family)
    return tuple(
        f"Fichier(s) {_FAMILY_LABELS[family]} déposé(s) sous la syntaxe {syntax}"
        f" ({_FAMILY_LABELS.get(expected or '', expected)}) : traité(s) comme"
        f" {_FAMILY_LABELS[family]}."
        for family in families
    )


def final_state(items: Iterable[FlowItem], flow_errors: Iterable[FlowError] = ()) -> FlowState:
    """IN_INTEGRE when every file was deposited, IN_INTEGRE_PARTIEL when some were,
    IN_REJETE when none was (or the flow itself was refused)."""
    deposited = [item.deposited for item in items]
    if any(True for _ in flow_errors) or not any(deposited):
        return FlowState.IN_REJETE
    return FlowState.IN_INTEGRE if all(deposited) else FlowState.IN_INTEGRE_PARTIEL


# -- where an error is, in the invoice XML --------------------------------------------------

_UBL_PATHS = {
    "number": "cbc:ID",
    "issue_date": "cbc:IssueDate",
    "framework": "cbc:ProfileID",
    "currency": "cbc:DocumentCurrencyCode",
    "service_code": "cbc:BuyerReference",
    "engagement_number": "cac:OrderReference/cbc:ID",
    "preceding_invoice_number": "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
    "seller": "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    "recipient": "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    "BR-CO-10": "cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
    "BR-CO-11": "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
    "BR-CO-12": "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount",
    "BR-CO-13": "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
    "BR-CO-14": "cac:TaxTotal/cbc:TaxAmount",
    "BR-CO-15": "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
    "BR-CO-16": "cac:LegalMonetaryTotal/cbc:PayableAmount",
    "BR-CO-17": "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount",
}
_CII_AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
_CII_SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
_CII_SUMS = f"{_CII_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_CII_PATHS = {
    "number": "rsm:ExchangedDocument/ram:ID",
    "issue_date": "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
    "type": "rsm:ExchangedDocument/ram:TypeCode",
    "framework": (
        "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
    ),
    "currency": f"{_CII_SETTLEMENT}/ram:InvoiceCurrencyCode",
    "service_code": f"{_CII_AGREEMENT}/ram:BuyerReference",
    "engagement_number": f"{_CII_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",
    "preceding_invoice_number": f"{_CII_SETTLEMENT}/ram:InvoiceReferencedDocument"
    "/ram:IssuerAssignedID",
    "seller": f"{_CII_AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID",
    "recipient": f"{_CII_AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID",
    "BR-CO-10": f"{_CII_SUMS}/ram:LineTotalAmount",
    "BR-CO-11": f"{_CII_SUMS}/ram:AllowanceTotalAmount",
    "BR-CO-12": f"{_CII_SUMS}/ram:ChargeTotalAmount",
    "BR-CO-13": f"{_CII_SUMS}/ram:TaxBasisTotalAmount",
    "BR-CO-14": f"{_CII_SUMS}/ram:TaxTotalAmount",
    "BR-CO-15": f"{_CII_SUMS}/ram:GrandTotalAmount",
    "BR-CO-16": f"{_CII_SUMS}/ram:DuePayableAmount",
    "BR-CO-17": f"{_CII_SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount",
}


def xpath_of(field: str, fmt: Format) -> str:
    """The XPath of what a violation's ``field`` names in a file of format ``fmt``: the field
    itself when it is already a path, the element of a Chorus check or a header total (BR-CO),
    else "/" (the whole file)."""
    if field.startswith("/"):
        return field
    if fmt in (Format.UBL_INVOICE, Format.UBL_CREDIT_NOTE):
        root = "/Invoice" if fmt is Format.UBL_INVOICE else "/CreditNote"
        if field == "type":
            code = "InvoiceTypeCode" if fmt is Format.UBL_INVOICE else "CreditNoteTypeCode"
            return f"{root}/cbc:{code}"
        path = _UBL_PATHS.get(field)
        return f"{root}/{path}" if path else "/"
    if fmt in (Format.CII, Format.PDF):
        path = _CII_PATHS.get(field)
        return f"/rsm:CrossIndustryInvoice/{path}" if path else "/"
    return "/"


def errors_of(error: DomainError, fmt: Format = Format.OTHER) -> tuple[FlowError, ...]:
    """A refusal as report entries: one per violation (``[BR-CO-10] message`` becomes rule
    BR-CO-10 and its message; a header total named by its rule gets the total's XPath; a
    Chorus check gets its own reason as the rule and the XPath of the element it is about),
    or one for the whole refusal when it names no field."""
    found = []
    for violation in error.violations:
        rule, message = _rule_and_message(violation.description)
        if rule is None:
            is_rule = violation.field.startswith("BR-")
            rule = violation.field if is_rule else error.reason
            if len(error.violations) == 1 and not is_rule:
                message = error.message  # the whole sentence, not the field's short note
        found.append(FlowError(rule, xpath_of(violation.field, fmt), message, error.reason))
    if not found:
        found.append(FlowError(error.reason, "/", error.message, error.reason))
    return tuple(dict.fromkeys(found))


def _rule_and_message(description: str) -> tuple[str | None, str]:
    """``[BR-CO-10] message`` → (``BR-CO-10``, ``message``); (None, description) otherwise."""
    if description.startswith("["):
        end = description.find("]")
        if 1 < end <= 40:
            return description[1:end], description[end + 1 :].strip()
    return None, description
