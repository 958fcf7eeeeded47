"""Fixtures of the document tests: the corpus, portal invoices (as stored before the EN 16931
model was kept) and parties, the warm engine.

The schematrons compile once per test session (the process-wide engine keeps them); the
worker-process tests share one pool per module.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from chorus_invoices.documents import validation
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import Framework, InvoiceContent, InvoiceType, Line

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def corpus_file(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.fixture(scope="session")
def engine() -> validation.SchematronEngine:
    """The process's engine with the usual stylesheets compiled (once per session)."""
    validation.warm_engine()
    return validation.engine()


SELLER = en16931.Seller(
    "Atelier Dupont SARL",
    legal_registration=en16931.Identifier("33738480410006", "0009"),
    vat_identifier="FR67337384804",
    address=en16931.Address(
        line1="12 avenue des Tilleuls", postal_code="69003", city="Lyon", country="FR"
    ),
)
BUYER = en16931.Buyer(
    "Commune de Valmont-sur-Loire",
    legal_registration=en16931.Identifier("26197306910005", "0009"),
    address=en16931.Address(
        line1="1 place de la Mairie", postal_code="45000", city="Valmont-sur-Loire", country="FR"
    ),
)


def portal_content(**overrides) -> InvoiceContent:
    """An invoice as portal entry validates it: three rates, a fractional quantity."""
    fields = dict(
        service_code="SERV-TECH",
        engagement_number="EJ-2024-117",
        framework=Framework.A1_FACTURE_FOURNISSEUR,
        type=InvoiceType.FACTURE,
        number="F-2024-001",
        issue_date=date(2024, 3, 15),
        currency="EUR",
        payment_terms="30 jours fin de mois",
        comment="Intervention du 14 mars « urgente »",
        lines=(
            Line("Conseil", Decimal("2.5"), "HUR", Decimal("80"), Decimal("20")),
            Line("Livres", Decimal("3"), "C62", Decimal("12.35"), Decimal("5.5")),
            Line("Formation exonérée", Decimal("1"), "C62", Decimal("500"), Decimal("0")),
        ),
        vat_exemption_reason="Exonération de TVA, article 261-4-4° du CGI",
    )
    fields.update(overrides)
    return InvoiceContent(**fields)
