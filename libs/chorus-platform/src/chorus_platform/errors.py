"""Domain errors: raised by services' domain and store code, mapped to gRPC in one place.

A domain error carries the gRPC status code it means, a stable ``reason``
(``SIRET_CHECKSUM_INVALID``), a human message (French first, shown to users), and optional
field violations. :mod:`chorus_platform.grpc_server` turns them into ``google.rpc.Status``
with ``ErrorInfo`` and ``BadRequest`` details; the gateway turns those into problem+json.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a service means to show its caller."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        reason: str,
        message: str,
        violations: list[FieldViolation] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.violations = violations or []
        self.metadata = metadata or {}


class InvalidArgument(DomainError):
    """The request is malformed or breaks a validation rule (422/400 at the gateway)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    """Unknown, or not visible to the caller."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    """A duplicate of something unique."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The target is in the wrong state for this operation."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    """No valid credentials."""

    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    """Too many attempts or too large."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A service this one depends on does not answer; the caller may retry later."""

    code = grpc.StatusCode.UNAVAILABLE
