"""How the portal writes amounts, dates and statuses for French readers.

Amounts travel as decimal strings ("1234.5"); the portal shows them the French way
("1 234,50 €": narrow no-break space between thousands, comma, no-break space before the
currency). Dates are shown day first, times in France's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from google.protobuf.message import Message

PARIS = ZoneInfo("Europe/Paris")
THOUSANDS = "\u202f"
BEFORE_CURRENCY = "\u00a0"

# The statuses as the French lifecycle names them (the invoices service's table).
STATUS_LABELS = {
    "BROUILLON": "Brouillon",
    "DEPOSEE": "Déposée",
    "EN_COURS_ACHEMINEMENT": "En cours d'acheminement",
    "MISE_A_DISPOSITION": "Mise à disposition",
    "PRISE_EN_COMPTE_DESTINATAIRE": "Prise en compte",
    "SERVICE_FAIT": "Service fait",
    "MANDATEE": "Mandatée",
    "MISE_A_DISPOSITION_COMPTABLE": "Mise à disposition comptable",
    "COMPTABILISEE": "Comptabilisée",
    "MISE_EN_PAIEMENT": "Mise en paiement",
    "SUSPENDUE": "Suspendue",
    "COMPLETEE": "Complétée",
    "A_RECYCLER": "À recycler",
    "REJETEE": "Rejetée",
}
# Statuses the recipient can only move to with a reason (the service checks it too).
REASON_REQUIRED_STATUSES = ("SUSPENDUE", "A_RECYCLER", "REJETEE")

FRAMEWORK_LABELS = {
    "A1_FACTURE_FOURNISSEUR": "A1 — Facture de fournisseur",
    "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE": "A2 — Facture déjà payée",
    "A9_FACTURE_SOUSTRAITANT": "A9 — Facture de sous-traitant",
    "A12_FACTURE_COTRAITANT": "A12 — Facture de cotraitant",
}
TYPE_LABELS = {"FACTURE": "Facture", "AVOIR": "Avoir"}

# UN/ECE recommendation 20 codes offered on the entry form.
UNIT_LABELS = {
    "C62": "Unité",
    "HUR": "Heure",
    "DAY": "Jour",
    "MON": "Mois",
    "KGM": "Kilogramme",
    "LTR": "Litre",
    "MTR": "Mètre",
    "MTK": "Mètre carré",
    "E48": "Forfait",
}
VAT_RATES = {"20": "20 %", "10": "10 %", "5.5": "5,5 %", "2.1": "2,1 %", "0": "0 %"}

# EN 16931 code lists the invoice page names in French.
VAT_CATEGORY_LABELS = {
    "S": "Taux normal",
    "Z": "Taux zéro",
    "E": "Exonérée",
    "AE": "Autoliquidation",
    "K": "Livraison intracommunautaire",
    "G": "Exportation hors UE",
    "O": "Hors champ de la TVA",
    "L": "Canaries (IGIC)",
    "M": "Ceuta et Melilla (IPSI)",
}
SCHEME_LABELS = {"0009": "SIRET", "0002": "SIREN", "0088": "GLN", "0060": "DUNS", "0225": "FRCTC"}
PAYMENT_MEANS_LABELS = {
    "1": "Non défini",
    "10": "Espèces",
    "20": "Chèque",
    "30": "Virement",
    "31": "Virement",
    "42": "Virement sur compte bancaire",
    "48": "Carte bancaire",
    "49": "Prélèvement",
    "54": "Carte de crédit",
    "55": "Carte de débit",
    "57": "Ordre permanent",
    "58": "Virement SEPA",
    "59": "Prélèvement SEPA",
    "97": "Compensation",
}
TYPE_CODE_LABELS = {
    "380": "Facture commerciale",
    "381": "Avoir",
    "384": "Facture rectificative",
    "386": "Facture d'acompte",
    "389": "Autofacture",
    "261": "Avoir d'autofacture",
    "751": "Information de facture pour comptabilisation",
}


def money(value: str, currency: str = "EUR") -> str:
    """``"1234.5"`` -> ``"1 234,50 €"``; the text unchanged when it is not a number."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        return value or ""
    sign = "-" if number < 0 else ""
    units, cents = f"{abs(number):.2f}".split(".")
    grouped = f"{int(units):,}".replace(",", THOUSANDS)
    symbol = "€" if currency in ("", "EUR") else currency
    return f"{sign}{grouped},{cents}{BEFORE_CURRENCY}{symbol}"


def number(value: str) -> str:
    """A quantity or rate the French way: ``"2.50"`` -> ``"2,5"``."""
    try:
        found = Decimal(value)
    except (InvalidOperation, TypeError):
        return value or ""
    text = format(found, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def day(value: str) -> str:
    """``"2026-11-27"`` -> ``"27/11/2026"``; the text unchanged when it is not a date."""
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except (ValueError, TypeError):
        return value or ""


def moment(message: Message, field: str) -> str:
    """A Timestamp field in Paris time, ``"27/11/2026 à 16:05"``; "" when unset."""
    if not message.HasField(field):
        return ""
    at: datetime = getattr(message, field).ToDatetime(tzinfo=PARIS)
    return at.strftime("%d/%m/%Y à %H:%M")


def status(name: str) -> str:
    return STATUS_LABELS.get(name, name)


def size(count: int) -> str:
    """A file size in French units: ``"12,3 ko"``."""
    for unit, scale in (("Mo", 1024**2), ("ko", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".replace(".", ",") + f"{BEFORE_CURRENCY}{unit}"
    return f"{count}{BEFORE_CURRENCY}octets"


def decimal_input(text: str) -> str:
    """What a French user typed as a number, as the services read it: ``"1 234,5"`` ->
    ``"1234.5"`` (spaces dropped, decimal comma accepted). Anything else is left for the
    service to refuse with its own message."""
    return "".join(text.split()).replace("\u202f", "").replace(",", ".")


def iban(value: str) -> str:
    """An account number in groups of four, as printed on a RIB: ``FR76 3000 6000 …``.

    Shown whole to whoever may see the invoice: its recipient needs it to pay, and it is in
    the invoice file they can download anyway."""
    compact = "".join((value or "").split())
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


FILTERS = {
    "money": money,
    "number_fr": number,
    "day": day,
    "status_label": status,
    "file_size": size,
    "iban": iban,
}
