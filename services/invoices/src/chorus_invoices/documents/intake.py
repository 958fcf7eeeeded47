"""A deposited structured file, read end to end: what a worker process does for
``DepositStructuredInvoice`` (:func:`read_deposit`) and ``DepositPdfInvoice``
(:func:`read_pdf_deposit`).

safe parse and format detection → XSD → EN 16931 schematron → the model
(:func:`mapping.read_model`). The first step that refuses the file ends the reading with an
InvalidArgument:

- xml_safety / formats reasons (``XML_MALFORMED``, ``PDF_ENCRYPTED``, ``FORMAT_UNSUPPORTED``…);
- ``XML_SCHEMA_INVALID``: the XSD refuses it (violations: path, ``[XSD] message``);
- ``EN16931_RULES_FAILED``: fatal schematron findings (violations: location,
  ``[BR-CO-10] message``; ErrorInfo metadata ``rules`` lists the rule ids, comma-separated);
- ``VALIDATION_ENGINE_FAILED``: a schematron stopped on the file instead of reporting (the
  message names the file);
- ``DOCUMENT_VALUE_INVALID`` from the reading of the model.

Warnings of the schematron do not refuse the file: they come back with the reading, to be
kept on the invoice. What Chorus itself checks on the model (recipient, number, BR-CO
arithmetic, line-level warnings) is the use case's, in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.documents import mapping
from chorus_invoices.documents.formats import DocumentKind, DocumentLimits, detect, read_pdf
from chorus_invoices.documents.validation import ValidationReport, validate_document
from chorus_invoices.domain import amounts, en16931
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.validation import buyer_siret, seller_siret


@dataclass(frozen=True)
class DocumentIntake:
    kind: DocumentKind
    level: str
    xml: bytes
    invoice: en16931.Invoice
    """The whole model, as the file states it."""
    warnings: tuple[RuleViolation, ...]


class RulesFailed(InvalidArgument):
    """The file breaks the XSD or EN 16931 business rules."""

    def __init__(self, report: ValidationReport) -> None:
        schema = any(v.rule_id == "XSD" for v in report.errors)
        rules = sorted({v.rule_id for v in report.errors})
        if schema:
            reason = "XML_SCHEMA_INVALID"
            message = (
                "Le fichier ne respecte pas le schéma XSD de la norme"
                f" ({len(report.errors)} erreur(s)) : corrigez la structure du XML."
            )
        else:
            reason = "EN16931_RULES_FAILED"
            message = (
                f"La facture ne respecte pas la norme EN 16931 : {len(report.errors)} règle(s)"
                f" en échec ({', '.join(rules[:10])}{', …' if len(rules) > 10 else ''})."
            )
        super().__init__(
            reason,
            message,
            [violation_of(v) for v in report.errors],
            metadata={"rules": ",".join(rules), "format": report.kind.value},
        )


def violation_of(rule: RuleViolation) -> FieldViolation:
    """A rule finding as a field violation: the location, and ``[rule] message``."""
    return FieldViolation(rule.location, f"[{rule.rule_id}] {rule.message}")


def read_deposit(
    data: bytes, limits: DocumentLimits | None = None, filename: str | None = None
) -> DocumentIntake:
    """The invoice a deposited file states, checked every way; InvalidArgument otherwise.
    ``filename``, as deposited, names the file in the messages that need it."""
    document = detect(data, limits)
    report = validate_document(document, filename)
    if not report.valid:
        _refuse_too_large(document)
        raise RulesFailed(report)
    invoice = mapping.read_model(document)
    return DocumentIntake(document.kind, document.level, document.xml, invoice, report.warnings)


def read_pdf_deposit(
    data: bytes, limits: DocumentLimits, filename: str | None = None
) -> DocumentIntake | None:
    """What a worker does for ``DepositPdfInvoice``: None for a plain PDF, the full reading
    (:func:`read_deposit`) of a Factur-X PDF.

    InvalidArgument PDF_TOO_LARGE, PDF_MALFORMED, PDF_ENCRYPTED, and for a Factur-X PDF the
    reasons of read_deposit (XML_*, XML_SCHEMA_INVALID, EN16931_RULES_FAILED, …)."""
    if read_pdf(data, limits.max_pdf_bytes).embedded_xml is None:
        return None
    return read_deposit(data, limits, filename)


def _refuse_too_large(document) -> None:
    """AMOUNT_TOO_LARGE rather than the rules' findings when the file states an amount beyond
    the cap (:mod:`~chorus_invoices.domain.amounts`): the schematron's arithmetic, in floating
    point, fails on such amounts and would name a rule instead of the amount."""
    try:
        model = mapping.read_model(document)
    except InvalidArgument as err:
        if err.reason == amounts.AMOUNT_TOO_LARGE:
            raise  # a number beyond the reading's own bounds
        return  # a model too broken to read: the rules' findings say why
    except Exception:
        return
    amounts.refuse_too_large(model)


@dataclass(frozen=True)
class Identity:
    """Who and what a file says it is, read without judging it ("" for what it does not
    say or what cannot be read)."""

    number: str = ""
    seller_siret: str = ""
    buyer_siret: str = ""


_NUMBER_PATHS = {
    "UBL": "/*/*[local-name()='ID'][1]",
    "CII": "/*/*[local-name()='ExchangedDocument']/*[local-name()='ID'][1]",
}


def identify(data: bytes, limits: DocumentLimits | None = None) -> Identity:
    """The invoice number (BT-1) and the seller's and buyer's SIRET of a file the checks
    refused, so that its report line still names the invoice (Chorus Pro ``numeroDP``,
    ``identifiantFournisseur``, ``identifiantDestinataire``). Never raises: a file too broken
    for it gives what could be read, possibly nothing."""
    try:
        document = detect(data, limits)
    except Exception:  # anything unreadable simply names nothing
        return Identity()
    try:
        model = mapping.read_model(document)
        return Identity(model.number.strip(), seller_siret(model), buyer_siret(model))
    except Exception:  # a model too broken to read: its number at least
        found = document.root.xpath(_NUMBER_PATHS[document.syntax.value])
        number = " ".join((found[0].text or "").split()) if found else ""
        return Identity(number[:100])
