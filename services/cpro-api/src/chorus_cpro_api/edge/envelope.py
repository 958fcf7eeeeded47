"""The Chorus Pro envelope: ``codeRetour`` and ``libelle`` on every answer, errors included.

Success: ``{"codeRetour": 0, "libelle": "TRA_MSG_00.000", ...}`` (the official "no message"
code; OCA's connector treats that ``libelle`` as "nothing to note").

A refusal keeps the envelope and adds ``erreur``, which says what failed, why and what to do,
in French: ``{"codeRetour": 20006, "libelle": "<message>", "erreur": {"raison": "...",
"message": "...", "champs": [{"champ": "idFacture", "message": "..."}]}}``. The credential
refusals (design §2) say which credential: ``"erreur": {"credential": "bearer" |
"cpro-account", "raison": "EXPIRED" | ..., "message": "..."}``.

Each kind of refusal has one HTTP status and one stable ``codeRetour`` (:data:`KINDS`, listed
in the service README); a service's gRPC status maps to a kind in :func:`from_rpc_error`. No
input gives a 5xx: only a service down (503, ``Retry-After``) or a bug (500 with a reference
to the log line, nothing else revealed).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from chorus_platform.rpc_status import from_rpc_error as read_rpc_error
from fastapi.responses import JSONResponse
from opentelemetry import trace

OK_LIBELLE = "TRA_MSG_00.000"
"""``libelle`` of every successful answer."""


@dataclass(frozen=True)
class Kind:
    """One kind of refusal: its HTTP status and its ``codeRetour``."""

    status: int
    code_retour: int


REQUEST_INVALID = Kind(400, 20002)
"""A body that does not read, a field of the wrong type or out of range, a value refused."""
FILE_TOO_LARGE = Kind(413, 20001)
"""The request or its file is larger than allowed (Chorus Pro's own 20001)."""
ATTACHMENT_TOO_LARGE = Kind(413, 20003)
"""An attachment above 10 MB (Chorus Pro's own 20003)."""
FILE_INVALID = Kind(400, 20004)
"""No file, or a file that is not base64."""
FLOW_SYNTAX_UNKNOWN = Kind(400, 20005)
"""A ``syntaxeFlux`` that is none of the 13 of the Swagger."""
NOT_FOUND = Kind(404, 20006)
"""Unknown, or not visible to the technical account (the same answer: nothing leaks)."""
NOT_POSSIBLE = Kind(400, 20007)
"""The invoice is in the wrong state, or the number is taken."""
DATA_REFUSED = Kind(400, 20008)
"""The service refused the values (a business rule), with the fields concerned."""
IDEMPOTENCY_CONFLICT = Kind(409, 20011)
"""The ``Idempotency-Key`` was used for another request, or its first request still runs."""
UNAUTHENTICATED = Kind(401, 401)
FORBIDDEN = Kind(403, 403)
ROUTE_NOT_FOUND = Kind(404, 404)
METHOD_NOT_ALLOWED = Kind(405, 405)
TOO_MANY_REQUESTS = Kind(429, 429)
INTERNAL = Kind(500, 500)
UNAVAILABLE = Kind(503, 503)

DEFAULT_RETRY_AFTER_SECONDS = 2
MAX_RETRY_AFTER_SECONDS = 3600

INTERNAL_MESSAGE = (
    "Erreur interne de Chorus ; réessayez plus tard et, si elle persiste, signalez-la avec la "
    "référence indiquée."
)
UNAVAILABLE_MESSAGE = "Service momentanément indisponible ; réessayez dans quelques instants."


@dataclass(frozen=True)
class FieldProblem:
    """A field of the request and what is wrong with it (French)."""

    champ: str
    message: str


class CproResponse(JSONResponse):
    """JSON in UTF-8; a character with no UTF-8 form (a lone surrogate echoed back) is
    replaced rather than failing the answer."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def ok(**fields: Any) -> dict[str, Any]:
    """A successful answer's body: the envelope, then ``fields``."""
    return {"codeRetour": 0, "libelle": OK_LIBELLE, **fields}


@dataclass
class CproError(Exception):
    """Raised anywhere in a request to answer with a refusal in the envelope."""

    kind: Kind
    message: str
    reason: str
    fields: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    erreur: dict[str, Any] | None = None
    """Replaces the default ``erreur`` object (the credential refusals)."""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        erreur = self.erreur
        if erreur is None:
            erreur = {"raison": self.reason, "message": self.message}
            if self.fields:
                erreur["champs"] = [{"champ": f.champ, "message": f.message} for f in self.fields]
        return {"codeRetour": self.kind.code_retour, "libelle": self.message, "erreur": erreur}

    def response(self) -> JSONResponse:
        return CproResponse(self.body(), status_code=self.kind.status, headers=self.headers)


def invalid_field(champ: str, message: str, reason: str = "CHAMP_INVALIDE") -> CproError:
    """400 naming one field of the body."""
    return CproError(
        REQUEST_INVALID,
        f"Requête invalide : {champ} — {message}",
        reason,
        [FieldProblem(champ, message)],
    )


def correlation_id() -> str:
    """The current trace id (32 hex digits), or a random id of the same shape without one."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else uuid.uuid4().hex


def internal_error(reference: str) -> CproError:
    return CproError(
        INTERNAL,
        f"{INTERNAL_MESSAGE} Référence : {reference}.",
        "ERREUR_INTERNE",
        erreur={"raison": "ERREUR_INTERNE", "message": INTERNAL_MESSAGE, "reference": reference},
    )


def unavailable(seconds: int = DEFAULT_RETRY_AFTER_SECONDS, message: str = "") -> CproError:
    return CproError(
        UNAVAILABLE,
        message or UNAVAILABLE_MESSAGE,
        "SERVICE_INDISPONIBLE",
        headers={"Retry-After": str(seconds)},
    )


def retry_after_seconds(metadata: dict[str, str]) -> int:
    value = metadata.get("retry_after_seconds", "")
    if value.isdigit() and len(value) <= 6:
        return min(max(int(value), 1), MAX_RETRY_AFTER_SECONDS)
    return DEFAULT_RETRY_AFTER_SECONDS


IDEMPOTENCY_REASONS = frozenset({"IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_REQUEST_IN_PROGRESS"})

UNAVAILABLE_REASONS = {"DOCUMENT_IN_PREPARATION": "DOCUMENT_EN_PREPARATION"}
"""A service's UNAVAILABLE that says more than "down", under its own ``raison``: a portal
invoice's Factur-X PDF still being rendered (seconds after its deposit)."""

_KIND_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: DATA_REFUSED,
    grpc.StatusCode.OUT_OF_RANGE: DATA_REFUSED,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: NOT_POSSIBLE,
    grpc.StatusCode.FAILED_PRECONDITION: NOT_POSSIBLE,
    grpc.StatusCode.ABORTED: NOT_POSSIBLE,
}

NOT_FOUND_MESSAGE = "Objet introuvable, ou non visible avec ce compte technique."


def from_rpc_error(err: grpc.RpcError, *, fields: dict[str, str] | None = None) -> CproError:
    """The refusal answering a failed gRPC call. ``fields`` renames the services' field paths
    into the request's (``invoice_id`` -> ``idFacture``); unknown paths are kept.

    UNAUTHENTICATED and PERMISSION_DENIED from a service are the technical account's (the
    only credential the services see): 401/403 saying so."""
    remote = read_rpc_error(err)
    names = fields or {}
    problems = [FieldProblem(names.get(v.field, v.field), v.description) for v in remote.violations]
    message = remote.message
    if remote.reason in IDEMPOTENCY_REASONS:
        return CproError(IDEMPOTENCY_CONFLICT, message, remote.reason)
    if remote.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        seconds = retry_after_seconds(remote.metadata)
        keep = remote.code == grpc.StatusCode.UNAVAILABLE and remote.reason and message
        if keep and remote.reason in UNAVAILABLE_REASONS:
            return CproError(
                UNAVAILABLE,
                message,
                UNAVAILABLE_REASONS[remote.reason],
                headers={"Retry-After": str(seconds)},
            )
        return unavailable(seconds, message if keep else "")
    if remote.code == grpc.StatusCode.DATA_LOSS and remote.reason and message:
        # A stored document that no longer matches its checksum (DOCUMENT_CORRUPTED): said as
        # such, not as an anonymous internal error; the operator restores it from a backup.
        return CproError(INTERNAL, message, remote.reason)
    if remote.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if (
            remote.reason
            and "TOO_LARGE" not in remote.reason
            and remote.reason.endswith(
                ("THROTTLED", "QUOTA_EXCEEDED", "RATE_LIMITED", "TOO_MANY_ATTEMPTS")
            )
        ):
            seconds = retry_after_seconds(remote.metadata)
            return CproError(
                TOO_MANY_REQUESTS, message, remote.reason, headers={"Retry-After": str(seconds)}
            )
        return CproError(
            FILE_TOO_LARGE,
            message or "Le contenu envoyé est trop volumineux.",
            remote.reason or "CONTENU_TROP_VOLUMINEUX",
            problems,
        )
    if remote.code == grpc.StatusCode.UNAUTHENTICATED:
        return credential_refusal(
            "cpro-account",
            "REVOKED" if remote.reason == "SESSION_REVOKED" else "EXPIRED",
            "La session du compte technique n'est plus valide (mot de passe renouvelé, compte "
            "révoqué ou session expirée) : renvoyez la requête ; si le refus persiste, vérifiez "
            "l'en-tête cpro-account.",
        )
    if remote.code == grpc.StatusCode.PERMISSION_DENIED:
        return CproError(
            FORBIDDEN,
            message or "Le compte technique n'a pas le droit de faire cette action.",
            remote.reason or "DROITS_INSUFFISANTS",
            problems,
            erreur={
                "credential": "cpro-account",
                "raison": "FORBIDDEN",
                "code": remote.reason or "DROITS_INSUFFISANTS",
                "message": message or "Le compte technique n'a pas le droit de faire cette action.",
            },
        )
    kind = _KIND_BY_CODE.get(remote.code)
    if kind is None:
        return internal_error(correlation_id())
    if kind is NOT_FOUND:
        message = message or NOT_FOUND_MESSAGE
    return CproError(
        kind, message or "Requête refusée.", remote.reason or remote.code.name, problems
    )


CREDENTIAL_STATUS = {
    "MISSING": UNAUTHENTICATED,
    "MALFORMED": UNAUTHENTICATED,
    "UNKNOWN": UNAUTHENTICATED,
    "EXPIRED": UNAUTHENTICATED,
    "REVOKED": UNAUTHENTICATED,
    "INVALID_PASSWORD": UNAUTHENTICATED,
    "PASSWORD_EXPIRED": UNAUTHENTICATED,
}


def credential_refusal(credential: str, raison: str, message: str) -> CproError:
    """401 saying which credential (``bearer`` or ``cpro-account``) failed, why and what to
    do (design §2); a bearer refusal carries ``WWW-Authenticate``."""
    headers = {}
    if credential == "bearer":
        headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if raison not in ("MISSING",) else "Bearer"
        )
    title = (
        "Jeton d'accès (Authorization: Bearer) refusé"
        if credential == "bearer"
        else "Compte technique (en-tête cpro-account) refusé"
    )
    return CproError(
        CREDENTIAL_STATUS.get(raison, UNAUTHENTICATED),
        f"{title} : {message}",
        raison,
        headers=headers,
        erreur={"credential": credential, "raison": raison, "message": message},
    )


@contextmanager
def fields_named(names: dict[str, str]) -> Iterator[None]:
    """Within the block, a failed gRPC call is raised as its refusal with the services' field
    paths renamed into the request's (``{"cpp_id": "idFacture"}``)."""
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err, fields=names) from None
