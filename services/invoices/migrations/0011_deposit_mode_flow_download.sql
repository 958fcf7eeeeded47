-- Issue 11 (Chorus Pro-compatible API): what the Chorus Pro searches read on an invoice.
--
-- deposit_mode: how it came in (domain.invoice.DepositMode: ENTRY, PDF, FILE, BATCH, FLOW).
-- Invoices stored before are inferred from their documents: a Factur-X rendered here or no
-- document at all (a draft) is an ENTRY, a deposited XML a FILE, a deposited PDF a PDF (a
-- Factur-X deposited as a structured file cannot be told apart from one deposited as a PDF).
-- flow_number: the flow (flows.number, DepositFlow) that brought it, NULL for none.
-- recipient_downloaded_at: when a recipient-side user first downloaded its document.
ALTER TABLE invoices
    ADD COLUMN deposit_mode text NOT NULL DEFAULT 'ENTRY',
    ADD COLUMN flow_number text,
    ADD COLUMN recipient_downloaded_at timestamptz;

UPDATE invoices i SET deposit_mode = CASE
        WHEN d.media_type = 'application/pdf' THEN 'PDF' ELSE 'FILE' END
    FROM documents d
    WHERE d.invoice_id = i.id AND d.role = 'ORIGINAL';

CREATE INDEX invoices_by_flow ON invoices (flow_number) WHERE flow_number IS NOT NULL;
