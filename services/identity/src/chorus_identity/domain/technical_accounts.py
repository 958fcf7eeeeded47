"""Technical accounts (Chorus Pro side of the API): the login and password a connector sends
in the ``cpro-account`` header, acting for one structure.

The password is 24 random characters from 62 (~143 bits): like the API applications'
secrets it is stored as a plain SHA-256, compared in constant time. It expires after a
configurable number of days (365 by default); the structure's managers are reminded 30 and
7 days before, and renew it in the portal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PASSWORD_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits
LOGIN_DOMAIN = "cpro.chorus.local"
"""Technical logins look like e-mail addresses (clients expect one) in a special-use domain
nobody can register a person's account under nor receive mail at."""
LOGIN_MAX_LENGTH = 254
MAX_LIVE_ACCOUNTS_PER_STRUCTURE = 10
"""Technical accounts a structure may hold unrevoked at once."""
REMINDER_DAYS = (30, 7)
_PARIS = ZoneInfo("Europe/Paris")
"""How many days before expiry the managers are reminded, once each."""


class ManagerAccess(StrEnum):
    """What structures answers about the caller and a structure's technical accounts."""

    MANAGER = "MANAGER"
    """Principal or secondary manager of an active structure."""
    NOT_MANAGER = "NOT_MANAGER"
    """A member without manager rights (or a space closed to them)."""
    NOT_MEMBER = "NOT_MEMBER"
    STRUCTURE_UNKNOWN = "STRUCTURE_UNKNOWN"
    STRUCTURE_INACTIVE = "STRUCTURE_INACTIVE"


class TechnicalAccountStatus(StrEnum):
    ACTIF = "ACTIF"
    EXPIRE = "EXPIRE"
    REVOQUE = "REVOQUE"


@dataclass(frozen=True)
class TechnicalAccount:
    """A technical account (never with its password). ``id`` is its user id."""

    id: str
    structure_id: str
    login: str
    session_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> TechnicalAccountStatus:
        if self.revoked_at is not None:
            return TechnicalAccountStatus.REVOQUE
        if self.expires_at <= now:
            return TechnicalAccountStatus.EXPIRE
        return TechnicalAccountStatus.ACTIF


@dataclass(frozen=True)
class ExpiryReminder:
    """A live account whose password expires within ``days_left`` days (30 or 7)."""

    account_id: str
    structure_id: str
    login: str
    expires_at: datetime
    days_left: int


def login_for(number: int) -> str:
    """The login of the ``number``-th technical account."""
    return f"TECH_{number}@{LOGIN_DOMAIN}"


def normalise_login(raw: str) -> str:
    """The form logins are looked up and throttled by: trimmed, lower-cased."""
    return raw.strip().lower()


def label_of(login: str) -> str:
    """What stands for the account's names (history, members): ``TECH_42``."""
    return login.partition("@")[0]


def new_password() -> str:
    """24 random letters and digits, with at least one lower-case letter, one upper-case
    letter and one digit (connectors that check a password's shape accept it)."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def hash_password(password: str) -> str:
    """The hex SHA-256 stored for a password."""
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


def password_matches(password: str, stored_sha256: str) -> bool:
    """Whether ``password`` is the stored one, compared in constant time."""
    return hmac.compare_digest(hash_password(password), stored_sha256)


def expiry_after(now: datetime, password_days: int) -> datetime:
    return now + timedelta(days=password_days)


def paris_date(moment: datetime) -> str:
    """The day (YYYY-MM-DD) a moment falls on in France, for messages."""
    return moment.astimezone(_PARIS).date().isoformat()
