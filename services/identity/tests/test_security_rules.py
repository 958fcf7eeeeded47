"""Pure rules: password profiles and reason codes, lockout counting, TOTP steps, recovery
codes, sealing contexts."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from chorus_identity.domain import two_factor
from chorus_identity.domain.lockout import LockoutPolicy, ThrottleState
from chorus_identity.domain.password_policy import (
    PasswordProfile,
    PersonalData,
    check_password,
    is_common,
)
from chorus_identity.store import common_passwords

COMMON = common_passwords.load()

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PERSONAL = PersonalData("camille.martin@example.fr", "Camille", "Martin-Durand")


def codes(password, **kwargs):
    return [p.code for p in check_password(password, common=COMMON, **kwargs)]


def test_the_bundled_list_holds_ten_thousand_common_passwords():
    assert len(COMMON) == 10_000
    assert {"123456", "password", "azerty", "motdepasse"} <= COMMON


@pytest.mark.parametrize(
    "password", ["Password", "AZERTY", "Football2024!", "!!Soleil123", "motdepasse"]
)
def test_common_passwords_are_found_with_case_digits_and_symbols_around(password):
    assert is_common(password, COMMON)


def test_a_good_password_passes_both_profiles():
    assert codes("Correct-Cheval-42", personal=PERSONAL) == []
    assert codes("correct cheval batterie agrafe", profile=PasswordProfile.NIST) == []


@pytest.mark.parametrize(
    "password",
    ["Camille-2026-Xy", "xy-MARTIN-2026!", "durand!2026Xy", "Camille.Martin42!", "Cämille-Xy-2026"],
)
def test_names_and_login_local_part_are_refused(password):
    assert codes(password, personal=PERSONAL) == ["PASSWORD_CONTAINS_PERSONAL_DATA"]


def test_short_name_fragments_do_not_forbid_everything():
    personal = PersonalData("li@example.fr", "Li", "Wu")
    assert codes("Lilas-Wuhan-2026", personal=personal) == []


def test_nist_profile_is_length_only_from_15():
    assert codes("abcdefghijklmn", profile=PasswordProfile.NIST) == ["PASSWORD_TOO_SHORT"]
    assert codes("zqxwvjkpmtrsldfg", profile=PasswordProfile.NIST) == []
    assert codes("zqxwvjkpmtrsldfg") == ["PASSWORD_TOO_WEAK"]


def test_every_rule_broken_is_reported_in_order():
    assert codes("Martin1", personal=PERSONAL) == [
        "PASSWORD_TOO_SHORT",
        "PASSWORD_TOO_COMMON",
        "PASSWORD_CONTAINS_PERSONAL_DATA",
    ]
    assert codes("a" * 129) == ["PASSWORD_TOO_LONG", "PASSWORD_TOO_WEAK"]


def test_lockout_counts_locks_and_restarts_after_the_lock():
    policy = LockoutPolicy(max_failures=3, duration=timedelta(minutes=15))
    state = ThrottleState()
    for _ in range(2):
        previous, state = state, state.after_failure(NOW, policy)
        assert not state.locked_at(NOW) and not state.just_locked(previous, NOW)
    previous, state = state, state.after_failure(NOW, policy)
    assert state.locked_until == NOW + timedelta(minutes=15)
    assert state.just_locked(previous, NOW)
    later = NOW + timedelta(minutes=16)
    assert not state.locked_at(later)
    assert state.after_failure(later, policy) == ThrottleState(failures=1)


def test_a_totp_code_is_accepted_once_per_step_with_one_step_of_drift():
    secret = two_factor.new_secret()
    totp = pyotp.TOTP(secret)
    step = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = totp.at((step + offset) * 30)
        assert two_factor.matching_step(secret, code, now=NOW, after_step=0) == step + offset
    code = totp.at(step * 30)
    assert two_factor.matching_step(secret, code, now=NOW, after_step=step) is None
    assert two_factor.matching_step(secret, totp.at((step + 2) * 30), now=NOW, after_step=0) is None
    assert two_factor.matching_step(secret, "12345", now=NOW, after_step=0) is None


def test_recovery_codes_are_distinct_and_hashed_without_case_or_separators():
    recovery = two_factor.new_recovery_codes()
    assert len(set(recovery.codes)) == 10
    code = recovery.codes[0]
    assert two_factor.hash_recovery_code(code.upper().replace("-", " ")) == recovery.hashes[0]
    assert code not in repr(recovery)


def test_provisioning_uri_names_issuer_and_account():
    secret = two_factor.new_secret()
    uri = two_factor.provisioning_uri(secret, account_name="a@b.fr", issuer="Chorus")
    assert uri.startswith(f"otpauth://totp/Chorus:a%40b.fr?secret={secret}")
    assert "issuer=Chorus" in uri
