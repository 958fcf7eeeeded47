-- The rest of the account lifecycle: terms of use, admins, password reset and e-mail change
-- links, lockout, two-factor authentication, the security audit trail.

ALTER TABLE users
    ADD COLUMN is_admin            boolean NOT NULL DEFAULT false,
    ADD COLUMN terms_version       text NOT NULL DEFAULT '',
    ADD COLUMN terms_accepted_at   timestamptz,
    ADD COLUMN deactivation_kind   text CHECK (deactivation_kind IN ('BY_USER', 'BY_ADMIN'));

-- Links: password reset, and verification of a new contact or login address (new_email).
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens
    ADD CONSTRAINT account_tokens_purpose_check
        CHECK (purpose IN ('ACTIVATION', 'PASSWORD_RESET', 'CONTACT_EMAIL', 'LOGIN_EMAIL')),
    ADD COLUMN new_email text;

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions
    ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN (
        'LOGOUT', 'REFRESH_TOKEN_REUSE', 'REVOKED_BY_USER', 'PASSWORD_CHANGED',
        'PASSWORD_RESET', 'DEACTIVATED', 'DISABLED_BY_ADMIN'));

-- Consecutive failed logins per login e-mail, known account or not, so that an unknown
-- address locks exactly like a real one (no enumeration through the lockout).
CREATE TABLE login_throttle (
    login_email      text PRIMARY KEY,
    failures         integer NOT NULL,
    last_failure_at  timestamptz NOT NULL,
    locked_until     timestamptz
);

-- TOTP second factor: the secret is needed in clear to compute codes (never logged); the last
-- accepted time step makes every code single use.
CREATE TABLE totp_factors (
    user_id          uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret           text NOT NULL,
    created_at       timestamptz NOT NULL,
    confirmed_at     timestamptz,
    last_used_step   bigint NOT NULL DEFAULT 0
);

-- Single-use recovery codes (80 random bits each), stored as SHA-256.
CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A login waiting for its second factor.
CREATE TABLE mfa_challenges (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    completed_at   timestamptz
);

-- The audit trail: one row per security event, written in the transaction of the action.
CREATE TABLE security_events (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    kind         text NOT NULL,
    user_id      uuid,                      -- NULL: failed login on an unknown address
    actor_id     uuid,                      -- who acted, when not the account owner
    occurred_at  timestamptz NOT NULL,
    ip_address   text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_by_user ON security_events (user_id, seq DESC);
