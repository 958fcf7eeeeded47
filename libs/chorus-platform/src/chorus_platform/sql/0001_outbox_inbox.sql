-- Transactional outbox: written in the same transaction as the state change it announces.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          text NOT NULL,
    ce_type      text NOT NULL,
    ce_source    text NOT NULL,
    ce_time      timestamptz NOT NULL DEFAULT now(),
    payload      bytea NOT NULL,
    traceparent  text,
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Inbox: one row per (consumer, event) handled, written in the handler's transaction.
CREATE TABLE inbox (
    consumer    text NOT NULL,
    event_id    text NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
