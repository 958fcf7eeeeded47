"""People as structures shows them: what identity says about an account (names, contact
e-mail, whether it is active). identity owns accounts; structures only keeps user ids."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Profile:
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class Account:
    user_id: UUID
    active: bool
    profile: Profile
