"""Conversion between :class:`DomainError` and rich ``google.rpc.Status`` errors."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from chorus_platform.errors import DomainError, FieldViolation

ERROR_DOMAIN = "chorus"


def to_status(error: DomainError) -> grpc.Status:
    """The grpc.Status to abort with for ``error``."""
    details = []
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
        )
    )
    details.append(info)
    if error.violations:
        bad_request = any_pb2.Any()
        bad_request.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
        details.append(bad_request)
    return rpc_status.to_status(
        status_pb2.Status(code=error.code.value[0], message=error.message, details=details)
    )


def internal_status(message: str = "Erreur interne, réessayez plus tard.") -> grpc.Status:
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message=message))


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
    status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
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
