-- Issue 12 (production): documents' contents may live in an S3-compatible object storage
-- (CHORUS_DOCUMENT_STORE=s3). The row stays here with the metadata and the SHA-256 (kept since
-- 0002, computed from the content at every write, so nothing to backfill); its content is
-- then NULL and object_key names the object (``documents/<document id>``). Exactly one of the
-- two is set: a row written with the postgres store keeps its bytea, and stays readable after
-- a switch to s3. The object is written before the row, in the row's transaction; objects
-- without a row (rolled back, replaced, purged) are deleted by ``purge-documents``.
ALTER TABLE documents ALTER COLUMN content DROP NOT NULL;
ALTER TABLE documents ADD COLUMN object_key text;
ALTER TABLE documents ADD CONSTRAINT documents_content_or_object
    CHECK ((content IS NULL) <> (object_key IS NULL));
-- The orphan sweep asks, for each page of listed objects, which keys still have a row.
CREATE UNIQUE INDEX documents_object_key ON documents (object_key) WHERE object_key IS NOT NULL;

-- Retention (CHORUS_DOCUMENT_RETENTION_DAYS): when the invoice's documents were purged, so a
-- download says so instead of "no document yet". The invoice row itself is kept.
ALTER TABLE invoices ADD COLUMN documents_purged_at timestamptz;
-- The retention sweep looks for invoices unchanged since the cutoff that still have documents.
CREATE INDEX invoices_updated_at ON invoices (updated_at);
