"""Identity's domain errors: each carries its gRPC meaning, a stable reason and a French message.

Messages never echo a secret (password, token, answer) back.
"""

from __future__ import annotations

from datetime import datetime

from chorus_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

from chorus_identity.domain.password_policy import PasswordProblem


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


class PasswordRejected(InvalidArgument):
    """The password breaks the policy: the reason is the first rule broken (PASSWORD_TOO_SHORT,
    PASSWORD_TOO_LONG, PASSWORD_TOO_WEAK, PASSWORD_TOO_COMMON, PASSWORD_CONTAINS_PERSONAL_DATA),
    one field violation per rule."""

    def __init__(self, problems: list[PasswordProblem], field: str = "password") -> None:
        super().__init__(
            problems[0].code,
            " ".join(p.message for p in problems),
            [FieldViolation(field, p.message) for p in problems],
            {"codes": ",".join(p.code for p in problems)},
        )


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


class ResetTokenInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "RESET_TOKEN_INVALID",
            "Ce lien de réinitialisation est invalide, expiré ou déjà utilisé. "
            "Demandez un nouveau lien depuis la page « Mot de passe oublié ».",
            [FieldViolation("token", "Lien invalide, expiré ou déjà utilisé.")],
        )


class EmailChangeTokenInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "EMAIL_CHANGE_TOKEN_INVALID",
            "Ce lien de confirmation d'adresse est invalide, expiré, déjà utilisé ou destiné "
            "à un autre compte. Refaites la demande depuis « Mon compte ».",
            [FieldViolation("token", "Lien invalide, expiré ou déjà utilisé.")],
        )


class SecretAnswerInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "SECRET_ANSWER_INVALID",
            "La réponse à la question secrète est incorrecte.",
            [FieldViolation("secret_answer", "Réponse incorrecte.")],
        )


class CurrentPasswordInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "CURRENT_PASSWORD_INVALID",
            "Le mot de passe actuel est incorrect.",
            [FieldViolation("current_password", "Mot de passe actuel incorrect.")],
        )


class AccountLocked(FailedPrecondition):
    """Too many failed logins: refused until ``locked_until`` (metadata for the gateway's 423
    and Retry-After)."""

    def __init__(self, locked_until: datetime, now: datetime) -> None:
        seconds = max(1, int((locked_until - now).total_seconds() + 0.999))
        super().__init__(
            "ACCOUNT_LOCKED",
            "Trop de tentatives de connexion échouées : ce compte est verrouillé jusqu'au "
            f"{locked_until:%d/%m/%Y à %H:%M:%S} UTC. Réessayez ensuite, ou réinitialisez "
            "votre mot de passe.",
            metadata={
                "locked_until": locked_until.isoformat(),
                "retry_after_seconds": str(seconds),
            },
        )


class SessionRevoked(Unauthenticated):
    """The access token is valid but its session was revoked (logout, password change...)."""

    def __init__(self) -> None:
        super().__init__("SESSION_REVOKED", "Session terminée ou révoquée. Reconnectez-vous.")


class MfaChallengeInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "MFA_CHALLENGE_INVALID",
            "Cette demande de connexion a expiré ou a déjà servi. Reconnectez-vous.",
        )


class MfaCodeInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "MFA_CODE_INVALID",
            "Code de vérification incorrect ou déjà utilisé. Saisissez le code affiché par "
            "votre application d'authentification, ou un code de secours.",
        )


class TotpCodeInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "TOTP_CODE_INVALID",
            "Code incorrect : saisissez le code à 6 chiffres affiché par votre application.",
            [FieldViolation("code", "Code incorrect.")],
        )


class TotpNotEnrolling(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__(
            "TOTP_NOT_ENROLLING",
            "Aucune activation de double authentification en cours : commencez par "
            "demander un nouveau secret.",
        )


class TotpAlreadyEnabled(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__(
            "TOTP_ALREADY_ENABLED",
            "La double authentification est déjà activée. Désactivez-la d'abord pour en changer.",
        )


class TotpNotEnabled(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__("TOTP_NOT_ENABLED", "La double authentification n'est pas activée.")


class EmailUnchanged(InvalidArgument):
    def __init__(self, field: str) -> None:
        super().__init__(
            "EMAIL_UNCHANGED",
            "Cette adresse est déjà celle du compte.",
            [FieldViolation(field, "Adresse identique à l'actuelle.")],
        )


class SessionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("SESSION_NOT_FOUND", "Session introuvable ou déjà terminée.")


class AdminRequired(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("ADMIN_REQUIRED", "Action réservée aux administrateurs de Chorus.")


class TermsNotAccepted(InvalidArgument):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message, [FieldViolation("terms_accepted", message)])


class NotificationsUnavailable(Unavailable):
    """The link could not be sealed for notifications: nothing was changed."""

    def __init__(self) -> None:
        super().__init__(
            "NOTIFICATIONS_UNAVAILABLE",
            "L'envoi des e-mails est momentanément indisponible ; rien n'a été modifié. "
            "Réessayez dans quelques instants.",
        )


# --- Credentials of the Chorus Pro-compatible API: API applications, technical accounts ---

_API_CLIENTS_PAGE = "Mon compte › Applications API"


class TechnicalAccountForbidden(PermissionDenied):
    """A technical account's token may not manage credentials."""

    def __init__(self) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_FORBIDDEN",
            "Un compte technique ne peut gérer ni applications API ni comptes techniques : "
            "connectez-vous au portail avec votre compte personnel.",
        )


class ApiClientLimitReached(FailedPrecondition):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "API_CLIENT_LIMIT_REACHED",
            f"Vous avez déjà {limit} applications API actives : révoquez celles qui ne "
            "servent plus avant d'en créer une autre.",
        )


class ApiClientIdInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "API_CLIENT_ID_INVALID",
            "Identifiant d'application invalide.",
            [FieldViolation("id", "UUID attendu.")],
        )


class ApiClientNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("API_CLIENT_NOT_FOUND", "Application API introuvable.")


class ClientUnknown(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "CLIENT_UNKNOWN",
            "Identifiant d'application (client_id) inconnu : copiez celui affiché dans le "
            f"portail ({_API_CLIENTS_PAGE}).",
        )


class ClientSecretInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "CLIENT_SECRET_INVALID",
            "Secret d'application (client_secret) incorrect : utilisez celui affiché à la "
            "création de l'application ; s'il est perdu, créez une nouvelle application dans "
            f"le portail ({_API_CLIENTS_PAGE}) et révoquez l'ancienne.",
        )


class ClientRevoked(Unauthenticated):
    """The application was revoked, or its owner's account is not active any more."""

    def __init__(self, revoked_on: str | None) -> None:
        if revoked_on is None:
            message = (
                "Le compte propriétaire de cette application est désactivé : ses jetons ne "
                "sont plus délivrés. Créez une application depuis un compte actif."
            )
        else:
            message = (
                f"Cette application a été révoquée le {revoked_on} : créez-en une nouvelle "
                f"dans le portail ({_API_CLIENTS_PAGE})."
            )
        super().__init__("CLIENT_REVOKED", message)


class StructureIdInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "STRUCTURE_ID_INVALID",
            "Identifiant de structure invalide.",
            [FieldViolation("structure_id", "UUID attendu.")],
        )


class StructureNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("STRUCTURE_NOT_FOUND", "Structure introuvable.")


class ManagerRequired(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "MANAGER_REQUIRED",
            "Seuls les gestionnaires (principal ou secondaires) de la structure gèrent ses "
            "comptes techniques.",
        )


class StructureInactive(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__(
            "STRUCTURE_INACTIVE",
            "La structure est inactive : ses comptes techniques ne peuvent pas être gérés.",
        )


class StructuresUnavailable(Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "STRUCTURES_UNAVAILABLE",
            "Le service des structures ne répond pas ; rien n'a été modifié. Réessayez dans "
            "un instant.",
        )


class TechnicalAccountLimitReached(FailedPrecondition):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_LIMIT_REACHED",
            f"Cette structure a déjà {limit} comptes techniques actifs : révoquez ceux qui ne "
            "servent plus avant d'en activer un autre.",
        )


class TechnicalAccountIdInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_ID_INVALID",
            "Identifiant de compte technique invalide.",
            [FieldViolation("id", "UUID attendu.")],
        )


class TechnicalAccountNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("TECHNICAL_ACCOUNT_NOT_FOUND", "Compte technique introuvable.")


class TechnicalAccountAlreadyRevoked(FailedPrecondition):
    """A revoked account's password cannot be renewed."""

    def __init__(self) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_REVOKED",
            "Ce compte technique est révoqué : son mot de passe ne peut plus être renouvelé. "
            "Activez un nouveau compte technique.",
        )


class TechnicalAccountUnknown(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_UNKNOWN",
            "Compte technique inconnu : vérifiez l'identifiant (par exemple "
            "TECH_12@cpro.chorus.local) affiché dans le portail, page de la structure, "
            "rubrique « Comptes techniques ».",
        )


class TechnicalPasswordInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "TECHNICAL_PASSWORD_INVALID",
            "Mot de passe du compte technique incorrect : utilisez celui affiché à "
            "l'activation ou au dernier renouvellement ; s'il est perdu, un gestionnaire de "
            "la structure doit le renouveler dans le portail.",
        )


class TechnicalPasswordExpired(Unauthenticated):
    def __init__(self, expired_on: str) -> None:
        super().__init__(
            "TECHNICAL_PASSWORD_EXPIRED",
            f"Le mot de passe du compte technique a expiré le {expired_on} : un gestionnaire "
            "de la structure doit le renouveler dans le portail.",
            metadata={"expired_on": expired_on},
        )


class TechnicalAccountRevokedRefusal(Unauthenticated):
    def __init__(self, revoked_on: str) -> None:
        super().__init__(
            "TECHNICAL_ACCOUNT_REVOKED",
            f"Ce compte technique a été révoqué le {revoked_on} : un gestionnaire de la "
            "structure doit en activer un nouveau dans le portail.",
            metadata={"revoked_on": revoked_on},
        )
