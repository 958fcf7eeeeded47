-- Technical accounts (Chorus Pro-compatible API), from identity's TechnicalAccountActivated:
-- users with no mailbox and no portal. An invoice they deposit tells its depositor nothing
-- (rather than waiting for a recipient that will never be projected), and messages name them
-- by their login.
CREATE TABLE technical_users (
    user_id      uuid PRIMARY KEY,
    structure_id uuid NOT NULL,
    login        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
