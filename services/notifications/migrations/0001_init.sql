-- Recipients: a local projection of identity's users (from UserRegistered), so that an event
-- naming a user id can be turned into an address, a name and a language without a gRPC call.
CREATE TABLE recipients (
    user_id        uuid PRIMARY KEY,
    contact_email  text NOT NULL,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    locale         text NOT NULL DEFAULT 'fr',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Structure names (from StructureCreated), to name the structure in membership messages.
CREATE TABLE structures (
    structure_id  uuid PRIMARY KEY,
    name          text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- E-mail outbox: written by the event handlers, drained by the sender loop.
-- One message per (event, recipient), whatever the number of deliveries of the event.
CREATE TABLE emails (
    id                 uuid PRIMARY KEY,
    event_id           text NOT NULL,
    recipient_address  text NOT NULL,
    user_id            uuid,
    kind               text NOT NULL,
    subject            text NOT NULL,
    text_body          text NOT NULL,
    html_body          text NOT NULL,
    status             text NOT NULL DEFAULT 'PENDING'
                       CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    UNIQUE (event_id, recipient_address)
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'PENDING';

-- Every delivery attempt, successful or not.
CREATE TABLE email_attempts (
    id        bigserial PRIMARY KEY,
    email_id  uuid NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    ok        boolean NOT NULL,
    error     text
);
CREATE INDEX email_attempts_by_email ON email_attempts (email_id, at);

-- The per-user event feed ("Fil d'événements"); one item per (event, user).
CREATE TABLE feed_items (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    event_id    text NOT NULL,
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    link        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at     timestamptz,
    UNIQUE (event_id, user_id)
);
CREATE INDEX feed_items_by_user ON feed_items (user_id, created_at DESC, id DESC);
