"""User accounts: statuses, the account entity and validation of a registration.

Pure: e-mail syntax is checked by ``email-validator`` without any DNS or deliverability lookup.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from chorus_platform.errors import FieldViolation, InvalidArgument
from email_validator import EmailNotValidError, validate_email

from chorus_identity.domain.password_policy import PersonalData

NAME_MAX_LENGTH = 100
BATCH_MAX_USERS = 100
DEFAULT_LOCALE = "fr"
# A registration naming an existing account's address e-mails its owner at most this often
# (the registration form must not become a way to flood someone's mailbox).
EXISTING_ACCOUNT_NOTICE_INTERVAL = timedelta(hours=1)
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{4,23}[0-9]$")


class UserStatus(StrEnum):
    EN_ATTENTE_ACTIVATION = "EN_ATTENTE_ACTIVATION"
    ACTIF = "ACTIF"
    DESACTIVE = "DESACTIVE"


class UserKind(StrEnum):
    PERSONNE = "PERSONNE"
    """A person, who logs into the portal."""
    TECHNIQUE = "TECHNIQUE"
    """A technical account of a structure (Chorus Pro API): never logs into the portal."""


@dataclass(frozen=True)
class Account:
    id: str
    login_email: str
    contact_email: str
    first_name: str
    last_name: str
    phone: str
    locale: str
    status: UserStatus
    created_at: datetime
    activated_at: datetime | None = None
    is_admin: bool = False
    kind: UserKind = UserKind.PERSONNE

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIF

    @property
    def awaits_activation(self) -> bool:
        return self.status is UserStatus.EN_ATTENTE_ACTIVATION

    @property
    def personal_data(self) -> PersonalData:
        """What the password policy keeps out of this user's passwords."""
        return PersonalData(self.login_email, self.first_name, self.last_name)

    def as_seen_by(self, viewer_id: str) -> Account:
        """The account as another user may see it: the login e-mail is the owner's only."""
        return self if viewer_id == self.id else replace(self, login_email="")


@dataclass(frozen=True)
class Registration:
    """A validated, normalised account creation request."""

    login_email: str
    contact_email: str
    first_name: str
    last_name: str
    phone: str
    locale: str = DEFAULT_LOCALE


@dataclass(frozen=True)
class _Violation:
    reason: str
    field: str
    description: str


def normalise_login_email(raw: str) -> str:
    """The canonical, lower-cased form of a login e-mail; ValueError when malformed.

    The part before the @ must be ASCII: mail to an internationalised mailbox (SMTPUTF8) is
    not deliverable through every relay, and an address nobody can write to is no login.
    An internationalised domain is kept in its ASCII (IDNA) form, which every relay takes."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return (checked.ascii_email or checked.normalized).lower()


def legacy_login_email(raw: str) -> str:
    """The form logins were stored in before ``normalise_login_email`` turned strict: Unicode
    domain, accents allowed before the @, lower-cased; ValueError when malformed.

    For finding accounts stored that way only: never store a new address in this form."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return checked.normalized.lower()


def login_lookup_forms(raw: str) -> tuple[str, ...]:
    """Every stored form an account typed as ``raw`` may have, canonical one first: the
    strict form (``normalise_login_email``), then the legacy form (``legacy_login_email``)
    when it differs. Lookups (login, reset, activation link, admin) take all of them, so an
    account stored before the strict form still answers; ValueError when neither is valid.
    """
    forms: list[str] = []
    for normalise in (normalise_login_email, legacy_login_email):
        try:
            form = normalise(raw)
        except ValueError:
            continue
        if form not in forms:
            forms.append(form)
    if not forms:
        raise ValueError("not an e-mail address")
    return tuple(forms)


def login_throttle_key(login_email: str) -> str:
    """The one key the lockout counts failures under for this address, whichever form it was
    typed or stored in (the input itself when it is no address)."""
    try:
        return login_lookup_forms(login_email)[0]
    except ValueError:
        return login_email


def _email(field: str, raw: str, *, required: bool) -> tuple[str, _Violation | None]:
    if not raw.strip():
        if required:
            return "", _Violation("FIELD_REQUIRED", field, "Adresse e-mail obligatoire.")
        return "", None
    try:
        return normalise_login_email(raw), None
    except ValueError:
        local = raw.strip().rpartition("@")[0]
        if local and not local.isascii():
            return "", _Violation(
                "EMAIL_INVALID",
                field,
                "Adresse e-mail invalide : les lettres accentuées ne sont pas acceptées avant"
                " le @ (par exemple solene.martin@exemple.fr).",
            )
        return "", _Violation(
            "EMAIL_INVALID", field, "Adresse e-mail invalide (attendu : nom@domaine.fr)."
        )


def _name(field: str, label: str, raw: str) -> tuple[str, _Violation | None]:
    value = " ".join(raw.split())
    if not value:
        return "", _Violation("FIELD_REQUIRED", field, f"{label} obligatoire.")
    if len(value) > NAME_MAX_LENGTH:
        return "", _Violation(
            "FIELD_TOO_LONG", field, f"{label} : {NAME_MAX_LENGTH} caractères au maximum."
        )
    return value, None


def _phone(raw: str) -> tuple[str, _Violation | None]:
    value = raw.strip()
    if value and not _PHONE.match(value):
        return "", _Violation(
            "PHONE_INVALID",
            "phone",
            "Numéro de téléphone invalide (chiffres, espaces, points, tirets, + initial).",
        )
    return value, None


def validate_registration(
    *, login_email: str, contact_email: str, first_name: str, last_name: str, phone: str
) -> Registration:
    """The normalised registration, or InvalidArgument listing every bad field.

    The error's reason is that of the first bad field (EMAIL_INVALID, FIELD_REQUIRED,
    FIELD_TOO_LONG, PHONE_INVALID); the contact e-mail defaults to the login e-mail.
    """
    login, login_v = _email("login_email", login_email, required=True)
    contact, contact_v = _email("contact_email", contact_email, required=False)
    first, first_v = _name("first_name", "Prénom", first_name)
    last, last_v = _name("last_name", "Nom", last_name)
    tel, phone_v = _phone(phone)
    violations = [v for v in (login_v, contact_v, first_v, last_v, phone_v) if v is not None]
    if violations:
        raise InvalidArgument(
            violations[0].reason,
            "Le formulaire contient des erreurs : " + " ; ".join(v.description for v in violations),
            [FieldViolation(v.field, v.description) for v in violations],
        )
    return Registration(
        login_email=login,
        contact_email=contact or login,
        first_name=first,
        last_name=last,
        phone=tel,
    )


@dataclass(frozen=True)
class ProfileUpdate:
    """Validated "Mon compte" changes; None means unchanged."""

    first_name: str | None
    last_name: str | None
    phone: str | None


def _raise_violations(violations: list[_Violation]) -> None:
    if violations:
        raise InvalidArgument(
            violations[0].reason,
            "Le formulaire contient des erreurs : " + " ; ".join(v.description for v in violations),
            [FieldViolation(v.field, v.description) for v in violations],
        )


def validate_profile_update(
    *, first_name: str | None, last_name: str | None, phone: str | None
) -> ProfileUpdate:
    """The normalised changes, or InvalidArgument (FIELD_REQUIRED, FIELD_TOO_LONG,
    PHONE_INVALID) listing every bad field."""
    first, first_v = (
        _name("first_name", "Prénom", first_name) if first_name is not None else (None, None)
    )
    last, last_v = _name("last_name", "Nom", last_name) if last_name is not None else (None, None)
    tel, phone_v = _phone(phone) if phone is not None else (None, None)
    _raise_violations([v for v in (first_v, last_v, phone_v) if v is not None])
    return ProfileUpdate(first_name=first, last_name=last, phone=tel)


def validate_new_email(field: str, raw: str) -> str:
    """A new contact or login address, normalised; InvalidArgument EMAIL_INVALID or
    FIELD_REQUIRED."""
    email, violation = _email(field, raw, required=True)
    _raise_violations([violation] if violation else [])
    return email


def parse_user_ids(raw_ids: list[str]) -> list[uuid.UUID]:
    """Distinct user ids in request order; InvalidArgument when too many or malformed."""
    if len(raw_ids) > BATCH_MAX_USERS:
        raise InvalidArgument(
            "TOO_MANY_USER_IDS",
            f"Au plus {BATCH_MAX_USERS} identifiants par demande ({len(raw_ids)} reçus).",
            [FieldViolation("user_ids", f"{BATCH_MAX_USERS} identifiants au maximum.")],
        )
    parsed: dict[uuid.UUID, None] = {}
    violations = []
    for index, raw in enumerate(raw_ids):
        try:
            parsed[uuid.UUID(raw)] = None
        except ValueError:
            violations.append(FieldViolation(f"user_ids[{index}]", "Identifiant invalide."))
    if violations:
        raise InvalidArgument(
            "USER_ID_INVALID", "Certains identifiants d'utilisateur sont invalides.", violations
        )
    return list(parsed)
