-- Per-user e-mail preferences: one row per kind the user turned off or back on. No row: the
-- kind is e-mailed (the default). Mandatory kinds (account security) are never stored.
CREATE TABLE email_preferences (
    user_id     uuid NOT NULL,
    kind        text NOT NULL,
    enabled     boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);
