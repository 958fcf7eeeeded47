"""The criteria of an invoice list, read from what the caller typed (pure rules, no I/O).

Every criterion is optional ("" = none). Dates are calendar days (``YYYY-MM-DD``), bounds
inclusive: the issue date is the invoice's own (BT-2), the deposit date is the day in France
(Europe/Paris) the invoice was deposited. Amounts bound the gross total (TTC, BT-112),
inclusive, in cents, at most 15 digits before the point (``1e999999`` is refused, not
passed to the database). The other party is the recipient of issued invoices and the
supplier of received ones: by structure ids (any of them), or by words of its name (each word
typed must appear in it, in any order, case- and accent-insensitive). For the Chorus Pro
searches: the flow an invoice came in (its number, exact), its type (FACTURE or AVOIR), the
time of its last status change (instants, bounds inclusive), whether a recipient-side user
downloaded its document, the net total (HT) and amount due bounds (like the gross total's),
the framework, the ways it came in (deposit modes) and whether its rejection was acknowledged.
Each criterion that cannot be read, and each range whose start is after its end, is named in
one InvalidArgument ``FILTER_INVALID``, so the caller fixes them all at once.

The order of a list (:class:`ListOrder`): deposit time newest first by default, or one of the
:class:`SortColumn` either way; any other than the default needs paging by number (a keyset
cursor follows the deposit time only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING

from chorus_platform.errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:  # domain.invoice imports this module
    from chorus_invoices.domain.invoice import DepositMode, Framework

MAX_TEXT = 200
# Gross totals: portal lines hold 9-digit quantities at 12-digit prices, but no filter needs
# more than this; beyond it the number reaches no database column.
MAX_AMOUNT_INTEGER_DIGITS = 15
MAX_AMOUNT_CHARS = 40
REASON = "FILTER_INVALID"
MAX_COUNTERPARTIES = 100


@dataclass(frozen=True)
class ListCriteria:
    issued_from: date | None = None
    issued_to: date | None = None
    deposited_from: date | None = None
    deposited_to: date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    counterparty_ids: tuple[str, ...] = ()
    """The other party is one of these structures (none: any)."""
    counterparty_name: str = ""
    service_code: str = ""
    flow_number: str = ""
    type: str = ""
    """FACTURE or AVOIR; "" for both."""
    status_changed_from: datetime | None = None
    status_changed_to: datetime | None = None
    downloaded: bool | None = None
    """True: downloaded by a recipient-side user; False: not yet; None: either."""
    min_net_amount: Decimal | None = None
    max_net_amount: Decimal | None = None
    min_amount_due: Decimal | None = None
    max_amount_due: Decimal | None = None
    framework: Framework | None = None
    deposit_modes: tuple[DepositMode, ...] = ()
    """Came in one of these ways (none: any)."""
    rejection_acknowledged: bool | None = None
    """True: rejected and acknowledged by the supplier; False: any other invoice; None: both."""


class SortColumn(StrEnum):
    """What a list may be sorted on."""

    DEPOSITED_AT = "DEPOSITED_AT"
    NUMBER = "NUMBER"
    ISSUE_DATE = "ISSUE_DATE"
    NET_TOTAL = "NET_TOTAL"
    GROSS_TOTAL = "GROSS_TOTAL"
    AMOUNT_DUE = "AMOUNT_DUE"
    STATUS = "STATUS"
    TYPE = "TYPE"
    CURRENCY = "CURRENCY"
    SERVICE_CODE = "SERVICE_CODE"
    ENGAGEMENT_NUMBER = "ENGAGEMENT_NUMBER"
    FLOW_NUMBER = "FLOW_NUMBER"
    COUNTERPARTY_NAME = "COUNTERPARTY_NAME"
    PRECEDING_INVOICE_NUMBER = "PRECEDING_INVOICE_NUMBER"
    DOWNLOADED_BY_RECIPIENT = "DOWNLOADED_BY_RECIPIENT"


@dataclass(frozen=True)
class ListOrder:
    """The order of a list; ties (and the default) by deposit time, newest first."""

    column: SortColumn = SortColumn.DEPOSITED_AT
    ascending: bool = False

    @property
    def is_default(self) -> bool:
        return self.column is SortColumn.DEPOSITED_AT and not self.ascending


def check_order_paging(order: ListOrder, *, numbered: bool) -> None:
    """InvalidArgument FILTER_INVALID for an order other than the default with keyset
    paging: its cursor follows the deposit time only."""
    if not order.is_default and not numbered:
        raise InvalidArgument(
            REASON,
            "Critères de recherche invalides : corrigez les champs signalés.",
            [
                FieldViolation(
                    "order_by",
                    "Un autre tri que la date de dépôt (la plus récente d'abord) demande la"
                    " pagination par numéro de page (page_number).",
                )
            ],
        )


INVOICE_TYPES = ("FACTURE", "AVOIR")


def read_criteria(
    *,
    issued_from: str = "",
    issued_to: str = "",
    deposited_from: str = "",
    deposited_to: str = "",
    min_amount: str = "",
    max_amount: str = "",
    counterparty_id: str = "",
    counterparty_name: str = "",
    service_code: str = "",
    counterparty_ids: tuple[str, ...] = (),
    flow_number: str = "",
    type: str = "",
    status_changed_from: datetime | None = None,
    status_changed_to: datetime | None = None,
    downloaded: bool | None = None,
    min_net_amount: str = "",
    max_net_amount: str = "",
    min_amount_due: str = "",
    max_amount_due: str = "",
    framework: str = "",
    deposit_modes: tuple[str, ...] = (),
    rejection_acknowledged: bool | None = None,
) -> ListCriteria:
    """The criteria, or InvalidArgument FILTER_INVALID naming each field in error.
    ``framework`` and ``deposit_modes`` are the names of :class:`Framework` and
    :class:`DepositMode` members."""
    from chorus_invoices.domain.invoice import DepositMode, Framework

    violations: list[FieldViolation] = []

    def day(field: str, value: str) -> date | None:
        value = value.strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value) if len(value) == 10 else _bad_date()
        except ValueError:
            violations.append(
                FieldViolation(field, f"Date « {value} » illisible : attendu AAAA-MM-JJ.")
            )
            return None

    def amount(field: str, value: str) -> Decimal | None:
        value = value.strip().replace(" ", "").replace(",", ".")
        if not value:
            return None
        found = _bounded_amount(value)
        if found is None:
            violations.append(
                FieldViolation(
                    field,
                    f"Montant « {value[:MAX_AMOUNT_CHARS]} » illisible : un nombre positif d'au"
                    f" plus {MAX_AMOUNT_INTEGER_DIGITS} chiffres, au centime près, ex. 1250.00.",
                )
            )
        return found

    def text(field: str, value: str) -> str:
        value = value.strip()
        if len(value) > MAX_TEXT:
            violations.append(FieldViolation(field, f"{MAX_TEXT} caractères au plus."))
            return ""
        return value

    def ordered(low_field: str, low, high_field: str, high, what: str) -> None:
        if low is not None and high is not None and low > high:
            violations.append(
                # The message is shown to people: no field name (``high_field``) in it.
                FieldViolation(low_field, f"{what} : le début est après la fin.")
            )

    def structure_id(field: str, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return str(uuid.UUID(value))
        except ValueError:
            violations.append(FieldViolation(field, "Identifiant de structure invalide (UUID)."))
            return ""

    others = [structure_id("counterparty_structure_id", counterparty_id[:MAX_TEXT])]
    if len(counterparty_ids) > MAX_COUNTERPARTIES:
        violations.append(
            FieldViolation(
                "counterparty_structure_ids", f"{MAX_COUNTERPARTIES} structures au plus."
            )
        )
    else:
        others += [
            structure_id(f"counterparty_structure_ids[{i}]", value[:MAX_TEXT])
            for i, value in enumerate(counterparty_ids)
        ]
    if type.strip() and type.strip() not in INVOICE_TYPES:
        violations.append(FieldViolation("type", "Type de facture inconnu : FACTURE ou AVOIR."))
    wanted_framework = None
    if framework.strip():
        if framework.strip() in Framework.__members__:
            wanted_framework = Framework(framework.strip())
        else:
            violations.append(FieldViolation("framework", "Cadre de facturation inconnu."))
    modes = []
    for index, mode in enumerate(deposit_modes):
        if mode.strip() in DepositMode.__members__:
            modes.append(DepositMode(mode.strip()))
        else:
            violations.append(FieldViolation(f"deposit_modes[{index}]", "Mode de dépôt inconnu."))
    criteria = ListCriteria(
        issued_from=day("issued_from", issued_from),
        issued_to=day("issued_to", issued_to),
        deposited_from=day("deposited_from", deposited_from),
        deposited_to=day("deposited_to", deposited_to),
        min_amount=amount("min_amount", min_amount),
        max_amount=amount("max_amount", max_amount),
        counterparty_ids=tuple(dict.fromkeys(other for other in others if other)),
        counterparty_name=text("counterparty_name", counterparty_name),
        service_code=text("service_code", service_code),
        flow_number=text("flow_number", flow_number).upper(),
        type=type.strip() if type.strip() in INVOICE_TYPES else "",
        status_changed_from=status_changed_from,
        status_changed_to=status_changed_to,
        downloaded=downloaded,
        min_net_amount=amount("min_net_amount", min_net_amount),
        max_net_amount=amount("max_net_amount", max_net_amount),
        min_amount_due=amount("min_amount_due", min_amount_due),
        max_amount_due=amount("max_amount_due", max_amount_due),
        framework=wanted_framework,
        deposit_modes=tuple(dict.fromkeys(modes)),
        rejection_acknowledged=rejection_acknowledged,
    )
    ordered(
        "issued_from", criteria.issued_from, "issued_to", criteria.issued_to, "Dates d'émission"
    )
    ordered(
        "deposited_from",
        criteria.deposited_from,
        "deposited_to",
        criteria.deposited_to,
        "Dates de dépôt",
    )
    ordered("min_amount", criteria.min_amount, "max_amount", criteria.max_amount, "Montants")
    ordered(
        "min_net_amount",
        criteria.min_net_amount,
        "max_net_amount",
        criteria.max_net_amount,
        "Montants HT",
    )
    ordered(
        "min_amount_due",
        criteria.min_amount_due,
        "max_amount_due",
        criteria.max_amount_due,
        "Montants à payer",
    )
    ordered(
        "status_changed_from",
        criteria.status_changed_from,
        "status_changed_to",
        criteria.status_changed_to,
        "Dates de changement de statut",
    )
    if violations:
        raise InvalidArgument(
            REASON, "Critères de recherche invalides : corrigez les champs signalés.", violations
        )
    return criteria


def _bounded_amount(value: str) -> Decimal | None:
    """A non-negative amount in cents within the bounds, or None: ``1e999999`` is a finite
    Decimal that no database column holds, ``1e-999999`` one no invoice has."""
    if len(value) > MAX_AMOUNT_CHARS:
        return None
    try:
        found = Decimal(value)
    except InvalidOperation:
        return None
    if not found.is_finite() or found < 0:
        return None
    _, digits, exponent = found.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) + exponent > MAX_AMOUNT_INTEGER_DIGITS or -exponent > 2:
        return None
    return found


def _bad_date() -> date:
    raise ValueError("not YYYY-MM-DD")
