-- Identity: accounts, credentials, single-use account tokens, sessions, signing keys.
--
-- Credentials live apart from the account so that lockout counters, password history and
-- second factors can be added to them later without touching the profile; account_tokens
-- carries a purpose so password-reset links reuse the same table.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    login_email    text NOT NULL,            -- normalised, lower-cased
    contact_email  text NOT NULL,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    phone          text NOT NULL DEFAULT '',
    locale         text NOT NULL DEFAULT 'fr',
    status         text NOT NULL
        CHECK (status IN ('EN_ATTENTE_ACTIVATION', 'ACTIF', 'DESACTIVE')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    activated_at   timestamptz,
    deactivated_at timestamptz
);
-- Unique whatever the case, even if a row ever escaped normalisation.
CREATE UNIQUE INDEX users_login_email_key ON users (lower(login_email));

-- Secrets of an activated account: argon2id hashes only.
CREATE TABLE credentials (
    user_id             uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash       text NOT NULL,
    password_changed_at timestamptz NOT NULL,
    secret_question     text NOT NULL,
    secret_answer_hash  text NOT NULL,       -- hash of the normalised answer
    updated_at          timestamptz NOT NULL
);

-- Single-use links sent by e-mail; only the SHA-256 of the token is stored.
CREATE TABLE account_tokens (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        text NOT NULL CHECK (purpose IN ('ACTIVATION')),
    token_hash     text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    invalidated_at timestamptz               -- superseded by a newer link
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- A login session is one refresh-token family: every rotation adds a refresh_tokens row.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip_address         text NOT NULL DEFAULT '',
    user_agent         text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz NOT NULL,
    refresh_generation integer NOT NULL DEFAULT 1,   -- generation of the live refresh token
    revoked_at         timestamptz,
    revoked_reason     text CHECK (revoked_reason IN ('LOGOUT', 'REFRESH_TOKEN_REUSE'))
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash  text PRIMARY KEY,                    -- SHA-256 of the opaque token
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation  integer NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,                         -- rotated: presenting it again is reuse
    UNIQUE (session_id, generation)
);

-- Ed25519 keys signing access tokens. The private key is erased when the key is retired;
-- the public part stays served until the last token it signed has expired.
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    private_key_pem text,
    public_x        text NOT NULL,                   -- base64url raw public key (JWK "x")
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz,
    CHECK (retired_at IS NOT NULL OR private_key_pem IS NOT NULL)
);
-- At most one key signs at a time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;
