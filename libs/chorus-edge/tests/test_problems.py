"""gRPC status -> problem+json mapping (unit)."""

from __future__ import annotations

import grpc
import pytest
from chorus_platform import errors, rpc_status
from chorus_platform.errors import FieldViolation

from chorus_edge.problems import (
    DEFAULT_RETRY_AFTER_SECONDS,
    PROBLEM_TYPE_BASE,
    ProblemError,
    field_path,
    kebab,
    problem_from_rpc_error,
)


def rpc_error(error: errors.DomainError) -> grpc.aio.AioRpcError:
    """The AioRpcError a client sees when a service aborts with ``error``."""
    status = rpc_status.to_status(error)
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        status.details,
    )


def plain_error(code: grpc.StatusCode, details: str = "boom") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidArgument("SIRET_CHECKSUM_INVALID", "SIRET invalide."), 422),
        (errors.NotFound("INVOICE_NOT_FOUND", "Facture introuvable."), 404),
        (errors.AlreadyExists("LOGIN_EMAIL_TAKEN", "Adresse déjà utilisée."), 409),
        (errors.FailedPrecondition("INVALID_STATUS_TRANSITION", "Transition impossible."), 409),
        (errors.PermissionDenied("NOT_A_MANAGER", "Réservé aux gestionnaires."), 403),
        (errors.Unauthenticated("INVALID_CREDENTIALS", "Identifiants incorrects."), 401),
        (errors.ResourceExhausted("TOO_MANY_ATTEMPTS", "Trop de tentatives."), 429),
    ],
)
def test_each_domain_code_maps_to_its_http_status_with_reason_and_message(error, status):
    problem = problem_from_rpc_error(rpc_error(error)).problem()

    assert problem.status == status
    assert problem.code == error.reason
    assert problem.detail == error.message
    assert problem.type == PROBLEM_TYPE_BASE + kebab(error.reason)


@pytest.mark.parametrize("reason", ["ACTIVATION_TOKEN_INVALID", "PAGE_TOKEN_INVALID"])
def test_bad_request_reasons_answer_400_instead_of_422(reason):
    problem = problem_from_rpc_error(rpc_error(errors.InvalidArgument(reason, "Lien invalide.")))

    assert problem.status == 400
    assert problem.code == reason


def test_field_violations_become_errors_with_rest_field_paths():
    error = errors.InvalidArgument(
        "INVOICE_INVALID",
        "Facture invalide.",
        [
            FieldViolation("lines.0.quantity", "La quantité doit être positive."),
            FieldViolation("lines[1].vat_rate", "Taux de TVA inconnu."),
            FieldViolation("number", "Numéro obligatoire."),
        ],
    )

    problem = problem_from_rpc_error(rpc_error(error)).problem()

    assert [(e.field, e.message) for e in problem.errors] == [
        ("lines[0].quantity", "La quantité doit être positive."),
        ("lines[1].vat_rate", "Taux de TVA inconnu."),
        ("number", "Numéro obligatoire."),
    ]


def test_unauthenticated_carries_www_authenticate():
    missing = problem_from_rpc_error(rpc_error(errors.Unauthenticated("UNAUTHENTICATED", "x")))
    invalid = problem_from_rpc_error(rpc_error(errors.Unauthenticated("TOKEN_INVALID", "x")))
    login = problem_from_rpc_error(rpc_error(errors.Unauthenticated("INVALID_CREDENTIALS", "x")))

    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert invalid.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert login.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_unreachable_services_answer_503_service_unavailable(code):
    problem = problem_from_rpc_error(plain_error(code, "connect failed 10.0.0.3:50051"))

    body = problem.problem()
    assert (body.status, body.code) == (503, "SERVICE_UNAVAILABLE")
    assert "10.0.0.3" not in body.detail
    assert problem.headers["Retry-After"] == str(DEFAULT_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNIMPLEMENTED]
)
def test_anything_else_is_500_without_internals(code):
    problem = problem_from_rpc_error(plain_error(code, "asyncpg: relation invoices missing"))

    body = problem.problem()
    assert body.status == 500
    assert body.code == "INTERNAL"
    assert "asyncpg" not in body.model_dump_json()


def test_error_without_reason_uses_the_grpc_code_and_about_blank():
    problem = problem_from_rpc_error(plain_error(grpc.StatusCode.NOT_FOUND, "Introuvable."))

    body = problem.problem()
    assert (body.status, body.code, body.type) == (404, "NOT_FOUND", "about:blank")
    assert body.detail == "Introuvable."


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("lines.0.quantity", "lines[0].quantity"),
        ("lines.12", "lines[12]"),
        ("address.postal_code", "address.postal_code"),
        ("a.0.b.1.c", "a[0].b[1].c"),
    ],
)
def test_field_path(path, expected):
    assert field_path(path) == expected


@pytest.mark.parametrize("reason", ["DATABASE_UNAVAILABLE", "SERVICE_UNAVAILABLE"])
def test_a_service_saying_when_to_retry_sets_retry_after(reason):
    error = errors.Unavailable(
        reason, "Base de données indisponible.", metadata={"retry_after_seconds": "7"}
    )

    problem = problem_from_rpc_error(rpc_error(error))

    assert (problem.status, problem.code) == (503, reason)
    assert problem.headers["Retry-After"] == "7"


@pytest.mark.parametrize("value", ["", "soon", "-3", "99999999999"])
def test_an_unreadable_retry_after_falls_back_to_the_default_or_a_bound(value):
    error = errors.Unavailable("DATABASE_UNAVAILABLE", "Indisponible.", metadata={})
    if value:
        error.metadata["retry_after_seconds"] = value

    problem = problem_from_rpc_error(rpc_error(error))

    assert problem.headers["Retry-After"] == str(DEFAULT_RETRY_AFTER_SECONDS)


def test_an_internal_error_carries_a_correlation_id_and_nothing_else():
    problem = problem_from_rpc_error(plain_error(grpc.StatusCode.INTERNAL, "KeyError: 'x'"))

    body = problem.response().body.decode()
    assert problem.correlation_id and len(problem.correlation_id) == 32
    assert problem.correlation_id in body
    assert "KeyError" not in body


def test_a_problem_echoing_a_lone_surrogate_still_renders():
    problem = ProblemError(422, "VALIDATION_FAILED", "Champ \ud800 invalide.")

    body = problem.response().body.decode("utf-8")

    assert "Champ ? invalide." in body


def test_a_corrupted_document_is_a_500_that_says_so():
    corrupted = errors.DomainError("DOCUMENT_CORRUPTED", "Le document est altéré.")
    status = rpc_status.to_status(corrupted, {errors.DomainError: grpc.StatusCode.DATA_LOSS})
    err = grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        status.details,
    )
    problem = problem_from_rpc_error(err)
    assert (problem.status, problem.code, problem.detail) == (
        500,
        "DOCUMENT_CORRUPTED",
        "Le document est altéré.",
    )
    assert problem.correlation_id
    assert problem_from_rpc_error(plain_error(grpc.StatusCode.DATA_LOSS)).code == "INTERNAL"
