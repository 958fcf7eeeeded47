"""Domain errors: plain exceptions with a stable reason, raised by domain and use-case code.

A domain error says what went wrong in the service's own terms: a kind (the class), a stable
``reason`` (``SIRET_CHECKSUM_INVALID``), a human message (French first, shown to users), and
optional field violations. It knows nothing of any transport: each service's ``api/errors.py``
holds the one table that says which gRPC status each kind of error is
(:data:`chorus_platform.rpc_status.STANDARD_STATUS_CODES` plus the service's own entries), and
the platform's error interceptor applies it; the gateway then turns statuses into
problem+json. Nobody else translates errors.

The kinds below are the meanings every service shares; a service derives its own errors from
them (``class InvoiceNotFound(NotFound)``) or raises them with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a service means to show its caller."""

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
    """The request is malformed or breaks a validation rule."""


class NotFound(DomainError):
    """Unknown, or not visible to the caller."""


class AlreadyExists(DomainError):
    """A duplicate of something unique."""


class FailedPrecondition(DomainError):
    """The target is in the wrong state for this operation."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class Unauthenticated(DomainError):
    """No valid credentials."""


class ResourceExhausted(DomainError):
    """Too many attempts or too large."""


class Unavailable(DomainError):
    """A service this one depends on does not answer; the caller may retry later."""
