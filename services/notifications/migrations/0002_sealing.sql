-- Sealed secrets: other services encrypt the tokens of e-mailed links to notifications'
-- X25519 public key (chorus_platform.sealing). The key pair is made on first start; older
-- private keys are kept so that secrets sealed to them still open.
CREATE TABLE sealing_keys (
    key_id       text PRIMARY KEY,
    private_key  bytea NOT NULL,
    public_key   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- An e-mail whose body holds a link token keeps only the sealed token (and the context it
-- was sealed with); the sender opens it at sending time and erases it once the e-mail is
-- sent or abandoned. The stored bodies carry a placeholder in its stead.
ALTER TABLE emails
    ADD COLUMN sealed_secret bytea,
    ADD COLUMN sealed_context bytea;
