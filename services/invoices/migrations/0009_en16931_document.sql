-- Issue 10: every valid EN 16931 invoice goes in, whole.
--
-- The whole semantic model is kept as a JSON document (domain/en16931_codec.py) beside the
-- indexed columns lists and filters need. Invoices stored before have no document (NULL:
-- GetInvoice answers document_json ""); their new columns are backfilled from what they had:
-- type code 380/381 by type, BT-106 = net total (they had no document allowances or charges),
-- VAT category S above 0 % and E at 0 % with the invoice's exemption reason.
ALTER TABLE invoices
    ADD COLUMN type_code text NOT NULL DEFAULT '',
    ADD COLUMN document jsonb,
    ADD COLUMN line_total numeric,
    ADD COLUMN allowance_total numeric,
    ADD COLUMN charge_total numeric,
    ADD COLUMN prepaid_amount numeric,
    ADD COLUMN rounding_amount numeric;

UPDATE invoices SET type_code = CASE type WHEN 'AVOIR' THEN '381' ELSE '380' END,
                    line_total = net_total;

-- One breakdown per (category, rate): Z and E are both at 0 %, O has no rate (kept as 0).
ALTER TABLE invoice_vat_breakdown
    ADD COLUMN category text NOT NULL DEFAULT '',
    ADD COLUMN exemption_reason text NOT NULL DEFAULT '',
    ADD COLUMN exemption_reason_code text NOT NULL DEFAULT '',
    ADD COLUMN position integer NOT NULL DEFAULT 0;
UPDATE invoice_vat_breakdown b SET
    category = CASE WHEN b.rate > 0 THEN 'S' ELSE 'E' END,
    exemption_reason = CASE WHEN b.rate > 0 THEN '' ELSE i.vat_exemption_reason END
    FROM invoices i WHERE i.id = b.invoice_id;
UPDATE invoice_vat_breakdown b SET position = o.position
    FROM (SELECT invoice_id, rate,
                 (row_number() OVER (PARTITION BY invoice_id ORDER BY rate DESC) - 1)::integer
                 AS position
          FROM invoice_vat_breakdown) o
    WHERE o.invoice_id = b.invoice_id AND o.rate = b.rate;
ALTER TABLE invoice_vat_breakdown DROP CONSTRAINT invoice_vat_breakdown_pkey,
    ADD PRIMARY KEY (invoice_id, position);

-- Lines as files state them: a credit note's quantities may be negative; the category is kept.
ALTER TABLE invoice_lines
    DROP CONSTRAINT IF EXISTS invoice_lines_quantity_check,
    DROP CONSTRAINT IF EXISTS invoice_lines_unit_price_check,
    ADD COLUMN vat_category text NOT NULL DEFAULT '';
UPDATE invoice_lines SET vat_category = CASE WHEN vat_rate > 0 THEN 'S' ELSE 'E' END;
