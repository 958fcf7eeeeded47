-- Issue 16 (throughput): the Factur-X PDF of a portal invoice is rendered off the request path.
--
-- A portal invoice entering DEPOSEE (deposit, submitted draft, recycling) commits, in one
-- transaction, the invoice, its canonical CII XML (document role CII: the XML its Factur-X
-- embeds) and a row here, and NOTIFYs chorus_facturx_renderings. The rendering job
-- (usecases/facturx_rendering.py) claims a row with FOR UPDATE SKIP LOCKED and a lease
-- (lease_owner, lease_until), renders in a document worker, and stores the FACTURX document
-- in the transaction that deletes the row — only while it still holds the lease, so two
-- renders of one invoice store one document. A worker that dies leaves the lease to run out;
-- the row is then taken again. A failed render is retried after not_before (backoff); after
-- the last attempt it stays with failed_at and its error, never deleted. While a row is here
-- without failed_at, the invoice's Factur-X is "en préparation".
CREATE TABLE facturx_renderings (
    invoice_id   uuid PRIMARY KEY REFERENCES invoices (id) ON DELETE CASCADE,
    queued_at    timestamptz NOT NULL,
    not_before   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    lease_owner  uuid,
    lease_until  timestamptz,
    failed_at    timestamptz,
    last_error   text NOT NULL DEFAULT ''
);
-- The job's queue: rows still to render, the due ones first.
CREATE INDEX facturx_renderings_due ON facturx_renderings (not_before)
    WHERE failed_at IS NULL;
