-- How each user's invoice e-mails reach them: no row is IMMEDIATE (one e-mail per event, the
-- default); HOURLY or DAILY gather them into one digest e-mail per period (usecases/digests.py).
CREATE TABLE invoice_email_frequencies (
    user_id     uuid PRIMARY KEY,
    frequency   text NOT NULL CHECK (frequency IN ('HOURLY', 'DAILY')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Invoice events kept for a user's next digest instead of an e-mail each. queued_at (the
-- digest clock when the event was handled) puts an entry in its period; digest_event_id is
-- set, in the transaction that queues the digest e-mail, to that e-mail's event id.
CREATE TABLE digest_entries (
    id               bigserial PRIMARY KEY,
    user_id          uuid NOT NULL,
    event_id         text NOT NULL,
    kind             text NOT NULL,
    invoice_id       text NOT NULL,
    number           text NOT NULL,
    status           text NOT NULL,
    comment          text NOT NULL DEFAULT '',
    queued_at        timestamptz NOT NULL,
    digest_event_id  text,
    UNIQUE (event_id, user_id, kind)
);
CREATE INDEX digest_entries_waiting ON digest_entries (user_id, queued_at)
    WHERE digest_event_id IS NULL;
