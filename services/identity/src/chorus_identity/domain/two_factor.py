"""TOTP second factor (RFC 6238 with pyotp) and single-use recovery codes. Pure.

Codes are 6 digits for 30-second steps; one step of clock drift is accepted either way. A
code is accepted only for a step later than the last one accepted, so an observed code cannot
be replayed (not even within its own 30 seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp

RECOVERY_CODE_COUNT = 10
STEP_SECONDS = 30
DRIFT_STEPS = 1
_TOTP_CODE = re.compile(r"^\d{6}$")
_SEPARATORS = re.compile(r"[\s-]+")


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_CODE.match(code.strip()))


def matching_step(secret: str, code: str, *, now: datetime, after_step: int) -> int | None:
    """The time step ``code`` is valid for (within the drift), if later than ``after_step``."""
    code = code.strip()
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        expected = totp.at(step * STEP_SECONDS)
        if step > after_step and hmac.compare_digest(expected, code):
            return step
    return None


@dataclass(frozen=True)
class RecoveryCodes:
    """Shown to the user once; only the hashes are stored."""

    codes: list[str]

    @property
    def hashes(self) -> list[str]:
        return [hash_recovery_code(code) for code in self.codes]

    def __repr__(self) -> str:
        return f"RecoveryCodes({len(self.codes)} codes)"


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> RecoveryCodes:
    """``count`` codes of 80 random bits, written ``xxxxx-xxxxx-xxxxx-xxxxx`` (hex)."""
    codes = []
    for _ in range(count):
        raw = secrets.token_hex(10)
        codes.append("-".join(raw[i : i + 5] for i in range(0, 20, 5)))
    return RecoveryCodes(codes)


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the code without case, spaces or dashes (80 random bits need no slow hash)."""
    return hashlib.sha256(_SEPARATORS.sub("", code).lower().encode()).hexdigest()
