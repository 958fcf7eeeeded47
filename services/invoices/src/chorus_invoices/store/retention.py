"""What ``chorus-invoices purge-records`` deletes: only the platform's technical tables
(published outbox rows, inbox rows, idempotency keys, replayed dead letters; see
chorus_platform.retention).

Not here: invoices, their history and documents (legal retention; documents past
``CHORUS_DOCUMENT_RETENTION_DAYS`` and staged uploads are ``purge-documents``' job); flows
(the Chorus Pro deposit record whose report ``consulterCR`` reads, their content already
cleared once decided); Factur-X rendering jobs (a finished one deletes its own row; a row
left with ``failed_at`` is what tells that the invoice's rendering failed).
"""

from __future__ import annotations

from chorus_platform.retention import PurgeRule, platform_rules

from chorus_invoices.config import InvoicesSettings


def purge_rules(settings: InvoicesSettings) -> list[PurgeRule]:
    return platform_rules(settings)
