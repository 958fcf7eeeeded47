-- Invoices: header, stated content, computed totals and current status.
-- Structure and user ids belong to other services; they are kept as text, never joined.
CREATE TABLE invoices (
    id                      uuid PRIMARY KEY,
    number                  text NOT NULL,
    supplier_structure_id   text NOT NULL,
    supplier_name           text NOT NULL DEFAULT '',
    recipient_structure_id  text NOT NULL,
    recipient_name          text NOT NULL DEFAULT '',
    service_code            text NOT NULL DEFAULT '',
    engagement_number       text NOT NULL DEFAULT '',
    framework               text NOT NULL,
    type                    text NOT NULL,
    issue_date              date NOT NULL,
    issue_year              integer NOT NULL CHECK (issue_year = extract(year FROM issue_date)),
    currency                char(3) NOT NULL,
    payment_terms           text NOT NULL DEFAULT '',
    comment                 text NOT NULL DEFAULT '',
    net_total               numeric NOT NULL,
    vat_total               numeric NOT NULL,
    gross_total             numeric NOT NULL,
    amount_due              numeric NOT NULL,
    status                  text NOT NULL,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    deposited_by            text NOT NULL DEFAULT '',
    deposited_at            timestamptz
);

-- An invoice number is unique per supplier and calendar year of its date (drafts included).
CREATE UNIQUE INDEX invoices_number_unique ON invoices (supplier_structure_id, issue_year, number);
-- Keyset pagination of both sides of the list, newest first.
CREATE INDEX invoices_issued_page ON invoices (supplier_structure_id, created_at DESC, id DESC);
CREATE INDEX invoices_received_page ON invoices (recipient_structure_id, created_at DESC, id DESC);

CREATE TABLE invoice_lines (
    invoice_id   uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    description  text NOT NULL,
    quantity     numeric NOT NULL CHECK (quantity > 0),
    unit         text NOT NULL,
    unit_price   numeric NOT NULL CHECK (unit_price >= 0),
    vat_rate     numeric NOT NULL,
    net_amount   numeric NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- Stored rather than recomputed: invoices deposited as PDF or XML carry it without lines.
CREATE TABLE invoice_vat_breakdown (
    invoice_id  uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    rate        numeric NOT NULL,
    base        numeric NOT NULL,
    amount      numeric NOT NULL,
    PRIMARY KEY (invoice_id, rate)
);

-- Every status an invoice went through: who, when, why.
CREATE TABLE invoice_history (
    seq         bigserial PRIMARY KEY,
    invoice_id  uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    status      text NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    comment     text NOT NULL DEFAULT ''
);
CREATE INDEX invoice_history_by_invoice ON invoice_history (invoice_id, at, seq);
