"""Findings of the EN 16931 rules on a structured invoice: what the XSD and the schematron
report (:mod:`~chorus_invoices.documents.validation`), the warnings kept with an invoice and
shown with it, and the violations of a refused file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    FATAL = "FATAL"
    WARNING = "WARNING"


@dataclass(frozen=True)
class RuleViolation:
    rule_id: str
    """``BR-CO-10``, ``BR-S-08``…; ``XSD`` for schema errors; ``SCHEMATRON`` when unnamed."""
    message: str
    location: str
    """Where, as an XPath with the usual prefixes: ``/Invoice[1]/cac:LegalMonetaryTotal[1]``."""
    severity: Severity

    @property
    def fatal(self) -> bool:
        return self.severity is Severity.FATAL
