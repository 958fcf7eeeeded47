-- Issue 11 (Chorus Pro-compatible API): every invoice gets an integer id, the Chorus Pro
-- ``identifiantFactureCPP`` / ``idFacture``, beside its UUID. It comes from a sequence (never
-- reused, gaps allowed) and is given at creation, drafts included; invoices stored before get
-- theirs in deposit order (drafts by creation), then the sequence continues after them.
ALTER TABLE invoices ADD COLUMN cpp_id bigint;

WITH ordered AS (
    SELECT id, row_number() OVER (ORDER BY coalesce(deposited_at, created_at), created_at, id) AS n
      FROM invoices
)
UPDATE invoices SET cpp_id = ordered.n FROM ordered WHERE ordered.id = invoices.id;

CREATE SEQUENCE invoices_cpp_id_seq OWNED BY invoices.cpp_id;
SELECT setval('invoices_cpp_id_seq', coalesce((SELECT max(cpp_id) FROM invoices), 0) + 1, false);

ALTER TABLE invoices
    ALTER COLUMN cpp_id SET DEFAULT nextval('invoices_cpp_id_seq'),
    ALTER COLUMN cpp_id SET NOT NULL;
CREATE UNIQUE INDEX invoices_cpp_id ON invoices (cpp_id);
