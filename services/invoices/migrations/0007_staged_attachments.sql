-- Attachments uploaded ahead of the PDF deposit or completion that uses them (StageAttachment),
-- so an invoice's attachments never travel in one message. Each belongs to the user who
-- uploaded it, is used once (moved into documents in the deposit's transaction) and is purged
-- once expired.
CREATE TABLE staged_attachments (
    id             uuid PRIMARY KEY,
    owner_user_id  text NOT NULL,
    filename       text NOT NULL,
    media_type     text NOT NULL,
    size           integer NOT NULL CHECK (size > 0),
    sha256         text NOT NULL,
    content        bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);
-- Purging the expired ones.
CREATE INDEX staged_attachments_expires_at ON staged_attachments (expires_at);
