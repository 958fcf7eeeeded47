-- Idempotency keys: the first answer to a creating RPC sent with an `idempotency-key`, replayed
-- when the same caller sends the same request with the same key again (see idempotency.py).
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    method        text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    response_type text,
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (principal, method, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
