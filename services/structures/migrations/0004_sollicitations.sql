-- Sollicitations (issue #13): a user writes to the managers of a structure, or to the
-- platform's support (addressee_structure_id NULL), about an invoice or a structure; the
-- other side answers. Attachments are kept here (bytea, at most 10 MB each): they belong to
-- the thread and are read only through it.

CREATE TABLE sollicitations (
    id                     uuid PRIMARY KEY,
    sender_id              uuid NOT NULL,
    sender_structure_id    uuid REFERENCES structures (id),
    addressee_structure_id uuid REFERENCES structures (id),
    subject                text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    invoice_id             uuid,
    invoice_number         text NOT NULL DEFAULT '',
    object_structure_id    uuid REFERENCES structures (id),
    status                 text NOT NULL CHECK (status IN ('OUVERTE', 'REPONDUE', 'CLOTUREE')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((invoice_id IS NULL) <> (object_structure_id IS NULL))
);

-- "Émises": the sender's, newest activity first; "reçues": by addressed structure (or support).
CREATE INDEX sollicitations_sender ON sollicitations (sender_id, updated_at DESC, id DESC);
CREATE INDEX sollicitations_addressee
    ON sollicitations (addressee_structure_id, updated_at DESC, id DESC);

CREATE TABLE sollicitation_messages (
    id               uuid PRIMARY KEY,
    sollicitation_id uuid NOT NULL REFERENCES sollicitations (id) ON DELETE CASCADE,
    author_id        uuid NOT NULL,
    from_sender      boolean NOT NULL,
    body             text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sollicitation_messages_thread
    ON sollicitation_messages (sollicitation_id, created_at, id);

CREATE TABLE sollicitation_attachments (
    id               uuid PRIMARY KEY,
    message_id       uuid NOT NULL REFERENCES sollicitation_messages (id) ON DELETE CASCADE,
    sollicitation_id uuid NOT NULL REFERENCES sollicitations (id) ON DELETE CASCADE,
    filename         text NOT NULL CHECK (char_length(filename) BETWEEN 1 AND 50),
    media_type       text NOT NULL,
    size             bigint NOT NULL CHECK (size BETWEEN 1 AND 10485760),
    content          bytea NOT NULL,
    position         integer NOT NULL
);
CREATE INDEX sollicitation_attachments_message ON sollicitation_attachments (message_id, position);
