-- Attachments: any number per invoice, so (invoice, role) stays unique for the other roles only.
DROP INDEX documents_invoice_role;
CREATE UNIQUE INDEX documents_invoice_role ON documents (invoice_id, role)
    WHERE role <> 'ATTACHMENT';
