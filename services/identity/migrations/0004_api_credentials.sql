-- Credentials of the Chorus Pro-compatible API (issue #11): API applications (OAuth2 client
-- credentials, as on PISTE) and technical accounts (the cpro-account header, as on Chorus Pro).

-- A technical account is a users row of its own kind: it cannot log into the portal, no
-- look-up by login e-mail finds it, and its login is no deliverable address.
ALTER TABLE users
    ADD COLUMN kind text NOT NULL DEFAULT 'PERSONNE' CHECK (kind IN ('PERSONNE', 'TECHNIQUE'));

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions
    ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN (
        'LOGOUT', 'REFRESH_TOKEN_REUSE', 'REVOKED_BY_USER', 'PASSWORD_CHANGED',
        'PASSWORD_RESET', 'DEACTIVATED', 'DISABLED_BY_ADMIN',
        'TECHNICAL_PASSWORD_ROTATED', 'TECHNICAL_ACCOUNT_REVOKED'));

-- An API application of a user. The secret has 256 random bits: its SHA-256 (hex) is enough
-- (no slow hash, so the token endpoint stays fast). Its id is the "sub" and "sid" of its
-- tokens: revoking it lists that id as a revoked session everywhere.
CREATE TABLE api_clients (
    id             uuid PRIMARY KEY,
    client_id      uuid NOT NULL UNIQUE,
    owner_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           text NOT NULL,
    secret_sha256  text NOT NULL,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    last_used_at   timestamptz
);
CREATE INDEX api_clients_owner ON api_clients (owner_id, created_at DESC);
-- ListRevokedSessions reads the applications revoked within one client-token lifetime.
CREATE INDEX api_clients_revoked ON api_clients (revoked_at, id) WHERE revoked_at IS NOT NULL;

-- Numbers of the technical logins (TECH_<n>@cpro.chorus.local).
CREATE SEQUENCE technical_account_numbers;

-- A technical account: its users row (kind TECHNIQUE), the structure it acts for, its
-- password (24 random characters, ~143 bits: SHA-256 hex), and its one session (the "sid" of
-- its tokens), replaced when the password is renewed and revoked with the account.
CREATE TABLE technical_accounts (
    user_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    structure_id         uuid NOT NULL,
    login                text NOT NULL,
    password_sha256      text NOT NULL,
    session_id           uuid NOT NULL REFERENCES sessions (id),
    created_at           timestamptz NOT NULL,
    created_by           uuid NOT NULL,
    password_changed_at  timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    revoked_at           timestamptz,
    revoked_by           uuid,
    -- Expiry reminders already sent for the current password (reset by a renewal).
    reminded_30_at       timestamptz,
    reminded_7_at        timestamptz
);
CREATE UNIQUE INDEX technical_accounts_login_key ON technical_accounts (lower(login));
CREATE INDEX technical_accounts_structure ON technical_accounts (structure_id, created_at DESC);
-- The expiry scan: live accounts still owed a reminder, by expiry.
CREATE INDEX technical_accounts_reminders ON technical_accounts (expires_at)
    WHERE revoked_at IS NULL AND reminded_7_at IS NULL;
