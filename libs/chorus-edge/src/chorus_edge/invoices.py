"""Invoices as both fronts name them: the enum tables of ``chorus.invoices.v1`` the REST API
and the portal read and write (statuses, frameworks, types, list sides).

What only the REST API sends or answers is in :mod:`chorus_gateway.api.schemas.invoices`.
"""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb

from chorus_edge.enums import ProtoEnum

INVOICE_STATUS = ProtoEnum(pb.InvoiceStatus)
FRAMEWORK = ProtoEnum(pb.Framework)
INVOICE_TYPE = ProtoEnum(pb.InvoiceType)
LIST_SIDE = ProtoEnum(pb.ListSide)

InvoiceStatus = INVOICE_STATUS.rest
Framework = FRAMEWORK.rest
InvoiceType = INVOICE_TYPE.rest
