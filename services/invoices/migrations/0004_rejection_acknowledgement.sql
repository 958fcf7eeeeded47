-- The supplier acknowledges a rejection (REJETEE stays the status): when and by whom.
ALTER TABLE invoices ADD COLUMN rejection_acknowledged_at timestamptz;
ALTER TABLE invoices ADD COLUMN rejection_acknowledged_by text NOT NULL DEFAULT '';
