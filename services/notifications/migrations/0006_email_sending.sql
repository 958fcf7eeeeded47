-- An e-mail is SENDING from its claim until the outcome of its SMTP attempt is recorded; the
-- claim and the record are separate transactions, so an SMTP acceptance is never undone by a
-- rollback (usecases/email_delivery.py). claimed_by names the sender process (it holds a
-- session advisory lock on that id while it lives); message_id is fixed at the first claim.
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails
    ADD CONSTRAINT emails_status_check CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED')),
    ADD COLUMN message_id text,
    ADD COLUMN claimed_by uuid,
    ADD COLUMN claimed_at timestamptz;
CREATE INDEX emails_sending ON emails (claimed_by) WHERE status = 'SENDING';

-- ok IS NULL: the outcome is unknown (the sender went away between SMTP and the record).
ALTER TABLE email_attempts ALTER COLUMN ok DROP NOT NULL;
