-- The routing reconciler (usecases/routing_reconciler.py) looks for invoices still DEPOSEE
-- some time after their deposit: few rows at any time, found without reading the others.
CREATE INDEX invoices_waiting_for_routing ON invoices (updated_at) WHERE status = 'DEPOSEE';
