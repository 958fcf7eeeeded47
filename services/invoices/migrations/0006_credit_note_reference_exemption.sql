-- BT-25 (the invoice a credit note corrects) and BT-120 (why amounts at 0 % are exempt).
ALTER TABLE invoices
    ADD COLUMN preceding_invoice text NOT NULL DEFAULT '',
    ADD COLUMN vat_exemption_reason text NOT NULL DEFAULT '';
-- Credit notes look their corrected invoice up by supplier and number.
CREATE INDEX invoices_by_supplier_number ON invoices (supplier_structure_id, number);
