"""Domain errors ⇄ rich ``google.rpc.Status`` errors, through each service's status table.

A service's ``api/errors.py`` declares its :data:`ErrorStatusCodes` table: the standard kinds
(:data:`STANDARD_STATUS_CODES`) and any error of its own that means something else. The
server's error interceptor looks an error up by its class, then by each base class in turn,
so the most specific entry wins.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from chorus_platform import errors
from chorus_platform.errors import DomainError, FieldViolation

ERROR_DOMAIN = "chorus"

ErrorStatusCodes = Mapping[type[DomainError], grpc.StatusCode]
"""Which gRPC status each kind of domain error is (most specific class first wins)."""

STANDARD_STATUS_CODES: ErrorStatusCodes = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
"""The shared kinds of :mod:`chorus_platform.errors`, each the gRPC code of the same name."""


def status_code_of(
    error: DomainError, table: ErrorStatusCodes = STANDARD_STATUS_CODES
) -> grpc.StatusCode:
    """The code ``table`` gives the error's class or its nearest base; UNKNOWN when none."""
    for kind in type(error).__mro__:
        code = table.get(kind)
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN


MAX_DETAILS_BYTES = 4096
"""Budget of the encoded ``google.rpc.Status`` of an error. It travels in the trailing
metadata (base64, a third larger), which gRPC clients cap at 8 KiB by default, message header
included: past the cap the client sees RESOURCE_EXHAUSTED instead of the error. A refusal
listing more violations than fit keeps the first ones and says how many it left out."""
MAX_DESCRIPTION_CHARS = 300
"""A violation's description longer than this is cut (with "…")."""


def _bounded(violations: list[FieldViolation], base_size: int) -> list[FieldViolation]:
    """The violations that fit in :data:`MAX_DETAILS_BYTES` beside ``base_size`` bytes, the
    last one saying how many were left out when they do not all fit."""
    kept: list[FieldViolation] = []
    size = base_size
    for index, violation in enumerate(violations):
        description = violation.description
        if len(description) > MAX_DESCRIPTION_CHARS:
            description = description[: MAX_DESCRIPTION_CHARS - 1] + "…"
        item = error_details_pb2.BadRequest.FieldViolation(
            field=violation.field[:MAX_DESCRIPTION_CHARS], description=description
        )
        cost = item.ByteSize() + 4
        # keep room for the closing "left out" violation
        if size + cost > MAX_DETAILS_BYTES - 200:
            left = len(violations) - index
            kept.append(
                FieldViolation(
                    "",
                    f"… et {left} autre(s) erreur(s) non listée(s) : corrigez celles-ci et"
                    " renvoyez pour voir les suivantes.",
                )
            )
            return kept
        size += cost
        kept.append(FieldViolation(item.field, item.description))
    return kept


def to_status(
    error: DomainError,
    table: ErrorStatusCodes = STANDARD_STATUS_CODES,
    *,
    default_metadata: Mapping[str, str] | None = None,
) -> grpc.Status:
    """The grpc.Status to abort with for ``error``: its code from ``table``, ``ErrorInfo``
    with its reason and metadata (over ``default_metadata``), and ``BadRequest`` with its
    field violations."""
    details = []
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason=error.reason,
            domain=ERROR_DOMAIN,
            metadata={**(default_metadata or {}), **error.metadata},
        )
    )
    details.append(info)
    if error.violations:
        violations = _bounded(list(error.violations), info.ByteSize() + len(error.message) * 3)
        bad_request = any_pb2.Any()
        bad_request.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in violations
                ]
            )
        )
        details.append(bad_request)
    return rpc_status.to_status(
        status_pb2.Status(
            code=status_code_of(error, table).value[0], message=error.message, details=details
        )
    )


INTERNAL_REASON = "INTERNAL_ERROR"
CORRELATION_ID = "correlation_id"
"""ErrorInfo metadata of INTERNAL and transient UNAVAILABLE answers: the id the service
logged the error under (the trace id when tracing is on), for support to find it."""
RETRY_AFTER_SECONDS = "retry_after_seconds"
"""ErrorInfo metadata: seconds the caller should wait before retrying (UNAVAILABLE, and the
services' own RESOURCE_EXHAUSTED / lockout answers)."""


def internal_status(
    message: str = "Erreur interne, réessayez plus tard.", *, correlation_id: str = ""
) -> grpc.Status:
    """INTERNAL revealing nothing but ``correlation_id`` (ErrorInfo ``INTERNAL_ERROR``)."""
    details = []
    if correlation_id:
        info = any_pb2.Any()
        info.Pack(
            error_details_pb2.ErrorInfo(
                reason=INTERNAL_REASON,
                domain=ERROR_DOMAIN,
                metadata={CORRELATION_ID: correlation_id},
            )
        )
        details.append(info)
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INTERNAL, message=message, details=details)
    )


class RemoteError(Exception):
    """A failed gRPC call, with the rich details read back."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str,
        violations: list[FieldViolation],
        metadata: dict[str, str],
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.violations = violations
        self.metadata = metadata


def from_rpc_error(err: grpc.RpcError) -> RemoteError:
    """Reads ErrorInfo/BadRequest back from a failed call (works for plain errors too)."""
    reason, violations, metadata = "", [], {}
    try:
        status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
    except ValueError:
        # details whose code is not the call's (the transport replaced it, e.g.
        # RESOURCE_EXHAUSTED for oversized metadata): the call's own code is the truth
        status = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    details = err.details() if callable(getattr(err, "details", None)) else str(err)
    return RemoteError(code, details or "", reason, violations, metadata)
