-- Keys at rest (issue #12): the private halves of the sealing key pairs are stored encrypted
-- under the key-encryption key (CHORUS_KEK; chorus_platform.key_encryption). The clear column
-- stays, nullable, only for the rows an older release wrote: the service encrypts them at
-- start, and `chorus-notifications rewrap-keys` does too (they end up NULL).

ALTER TABLE sealing_keys ADD COLUMN private_key_enc bytea;
ALTER TABLE sealing_keys ALTER COLUMN private_key DROP NOT NULL;
ALTER TABLE sealing_keys ADD CONSTRAINT sealing_keys_private_key_present
    CHECK (private_key_enc IS NOT NULL OR private_key IS NOT NULL);
