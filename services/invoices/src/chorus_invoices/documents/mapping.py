"""From a structured document to the invoices domain: the EN 16931 model it states.

:func:`read_model` reads UBL or CII into :class:`~chorus_invoices.domain.en16931.Invoice`,
every business term, amounts exactly as written (``ubl_reader.read_model`` /
``cii_reader.read_model``); a value present but unusable is ``DOCUMENT_VALUE_INVALID``. Nothing
the norm allows is refused here: the official schematron has decided validity before, and
what Chorus itself checks is :func:`chorus_invoices.domain.validation.validate_model`.
"""

from __future__ import annotations

from chorus_invoices.documents import cii_reader, ubl_reader
from chorus_invoices.documents.formats import StructuredDocument, Syntax
from chorus_invoices.domain import en16931


def read_model(document: StructuredDocument) -> en16931.Invoice:
    """What the document states, or InvalidArgument DOCUMENT_VALUE_INVALID."""
    reader = cii_reader if document.syntax is Syntax.CII else ubl_reader
    return reader.read_model(document.root)
