"""Which gRPC status each of structures' domain errors is: the one table the server applies.

Domain errors are plain exceptions (:mod:`chorus_platform.errors` kinds and this service's
own subclasses of them); the platform's error interceptor looks each one up here, most
specific class first. Add an entry when one of this service's errors means something other
than its kind.
"""

from __future__ import annotations

from chorus_platform.rpc_status import STANDARD_STATUS_CODES, ErrorStatusCodes

STATUS_CODES: ErrorStatusCodes = {**STANDARD_STATUS_CODES}
