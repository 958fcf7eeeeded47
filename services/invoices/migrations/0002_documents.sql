-- Files kept with an invoice: the Factur-X generated at portal entry, the structured file a
-- supplier deposited. Behind store/documents.py's DocumentStore; PostgreSQL bytea by default.
CREATE TABLE documents (
    id          uuid PRIMARY KEY,
    invoice_id  uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    role        text NOT NULL,
    filename    text NOT NULL,
    media_type  text NOT NULL,
    size        integer NOT NULL CHECK (size >= 0),
    sha256      text NOT NULL,
    content     bytea NOT NULL,
    created_at  timestamptz NOT NULL
);
-- One document per role and invoice (FACTURX, ORIGINAL).
CREATE UNIQUE INDEX documents_invoice_role ON documents (invoice_id, role);

-- EN 16931 warnings found when a structured file was deposited: kept, shown, never blocking.
CREATE TABLE invoice_rule_warnings (
    invoice_id  uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    rule_id     text NOT NULL,
    message     text NOT NULL,
    location    text NOT NULL,
    PRIMARY KEY (invoice_id, position)
);
