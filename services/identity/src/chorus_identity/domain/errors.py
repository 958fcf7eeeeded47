"""Identity's domain errors: each carries its gRPC meaning, a stable reason and a French message.

Messages never echo a secret (password, token, answer) back.
"""

from __future__ import annotations

from chorus_platform.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)


class AccountAlreadyExists(AlreadyExists):
    def __init__(self) -> None:
        super().__init__(
            "ACCOUNT_ALREADY_EXISTS",
            "Un compte existe déjà avec cette adresse e-mail de connexion. "
            "Connectez-vous ou utilisez une autre adresse.",
            [FieldViolation("login_email", "Adresse déjà utilisée par un compte.")],
        )


class ActivationTokenInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "ACTIVATION_TOKEN_INVALID",
            "Ce lien d'activation est invalide, expiré ou déjà utilisé. "
            "Demandez un nouveau lien d'activation.",
            [FieldViolation("token", "Lien d'activation invalide, expiré ou déjà utilisé.")],
        )


class PasswordTooWeak(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__("PASSWORD_TOO_WEAK", message, [FieldViolation("password", message)])


class InvalidCredentials(Unauthenticated):
    """Same reason and message whether the e-mail is unknown, the password wrong or the account
    not active, so that a login attempt reveals nothing about which accounts exist."""

    def __init__(self) -> None:
        super().__init__(
            "INVALID_CREDENTIALS", "Adresse e-mail ou mot de passe incorrect, ou compte non activé."
        )


class RefreshTokenInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("REFRESH_TOKEN_INVALID", "Session expirée ou révoquée. Reconnectez-vous.")


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("USER_NOT_FOUND", "Compte introuvable.")
