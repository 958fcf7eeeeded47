"""Which gRPC status each of invoices' domain errors is: the one table the server applies.

Domain errors are plain exceptions (:mod:`chorus_platform.errors` kinds and this service's
own subclasses of them); the platform's error interceptor looks each one up here, most
specific class first. Add an entry when one of this service's errors means something other
than its kind.
"""

from __future__ import annotations

import grpc
from chorus_platform.rpc_status import STANDARD_STATUS_CODES, ErrorStatusCodes

from chorus_invoices.domain.errors import DocumentCorrupted

STATUS_CODES: ErrorStatusCodes = {
    **STANDARD_STATUS_CODES,
    # A document whose content no longer matches its SHA-256: unrecoverable by a retry.
    DocumentCorrupted: grpc.StatusCode.DATA_LOSS,
}
