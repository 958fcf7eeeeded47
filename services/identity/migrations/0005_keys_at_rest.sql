-- Keys at rest (issue #12): token signing keys and TOTP seeds are stored encrypted under the
-- key-encryption key (CHORUS_KEK; chorus_platform.key_encryption), in new bytea columns.
-- The clear columns stay, nullable, only for the rows an older release wrote: the service
-- encrypts them at start, and `chorus-identity rewrap-keys` does too (they end up NULL).

ALTER TABLE signing_keys ADD COLUMN private_key_enc bytea;
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_private_key_while_active
    CHECK (retired_at IS NOT NULL OR private_key_enc IS NOT NULL OR private_key_pem IS NOT NULL);

ALTER TABLE totp_factors ADD COLUMN secret_enc bytea;
ALTER TABLE totp_factors ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE totp_factors ADD CONSTRAINT totp_factors_secret_present
    CHECK (secret_enc IS NOT NULL OR secret IS NOT NULL);
-- The start-up step looks for rows still in clear: none, once converted.
CREATE INDEX totp_factors_in_clear ON totp_factors (user_id) WHERE secret IS NOT NULL;
