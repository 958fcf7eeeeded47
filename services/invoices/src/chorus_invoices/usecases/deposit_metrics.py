"""``chorus.invoices.deposits``: invoices deposited (``accepted``) or ``refused``, by channel
(``portal``, ``api``, ``cpro``, ``flow``). The RPCs count what they decide as they answer
(:mod:`chorus_invoices.api.deposit_metrics` names their channel); the flow worker counts the
files of the archives it processes later. An infrastructure failure is neither outcome:
nothing was decided."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from chorus_platform.errors import DomainError, Unavailable
from opentelemetry import metrics

_deposits = metrics.get_meter("chorus_invoices.deposits").create_counter(
    "chorus.invoices.deposits",
    unit="{invoice}",
    description="Invoices deposited (accepted) or refused, by channel: portal, api, cpro, flow.",
)


def count(channel: str, outcome: str, amount: int = 1) -> None:
    if amount:
        _deposits.add(amount, {"channel": channel, "outcome": outcome})


@contextlib.contextmanager
def counted(channel: str) -> Iterator[None]:
    """Counts the deposit done inside: accepted if it returns, refused on a domain error
    (invalid, forbidden, duplicate…; not an UNAVAILABLE one: nothing was decided then)."""
    try:
        yield
    except Unavailable:
        raise
    except DomainError:
        count(channel, "refused")
        raise
    count(channel, "accepted")
