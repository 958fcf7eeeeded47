-- Issue 11 (Chorus Pro-compatible API): flows deposited through ``deposer/flux`` (DepositFlow)
-- and their integration report (``consulterCR`` / ``consulterCRDetaille``, GetFlow).
--
-- A flow is one file (decided before DepositFlow answers) or an archive (stored, then
-- processed by the flow worker, usecases/flows.py). Its number is CPP + 22 digits of
-- flows_number_seq. While an archive waits or is processed the row keeps its content and the
-- depositor's access token (the worker acts for the depositor against structures); both are
-- cleared when the flow is decided. The worker claims a flow by a lease (lease_until,
-- lease_owner: FOR UPDATE SKIP LOCKED, renewed before every file); a worker that dies leaves
-- the lease to expire, and the next one resumes with the files that have no report line yet.
CREATE TABLE flows (
    id                     uuid PRIMARY KEY,
    number                 text NOT NULL UNIQUE,
    supplier_structure_id  text NOT NULL,
    depositor              text NOT NULL,
    file_name              text NOT NULL,
    syntax                 text NOT NULL,
    sha256                 text NOT NULL,
    size                   integer NOT NULL CHECK (size > 0),
    state                  text NOT NULL,
    deposited_at           timestamptz NOT NULL,
    state_at               timestamptz NOT NULL,
    idempotency_key        text NOT NULL DEFAULT '',
    notes                  jsonb NOT NULL DEFAULT '[]',
    errors                 jsonb NOT NULL DEFAULT '[]',
    content                bytea,
    depositor_token        text,
    lease_owner            uuid,
    lease_until            timestamptz,
    attempts               integer NOT NULL DEFAULT 0
);
CREATE SEQUENCE flows_number_seq OWNED BY flows.number;
-- The worker's queue: the flows not decided yet, oldest first.
CREATE INDEX flows_pending ON flows (deposited_at, id)
    WHERE state IN ('IN_EN_ATTENTE_TRAITEMENT_CPP', 'IN_EN_COURS_TRAITEMENT_CPP');

-- One line of the report per file of the flow, in archive order (seq); written in the same
-- transaction as the invoice the file became, so a resumed flow never deposits a file twice.
CREATE TABLE flow_items (
    flow_id               uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    seq                   integer NOT NULL,
    file                  text NOT NULL,
    invoice_number        text NOT NULL DEFAULT '',
    supplier_identifier   text NOT NULL DEFAULT '',
    recipient_identifier  text NOT NULL DEFAULT '',
    invoice_id            uuid,
    invoice_cpp_id        bigint,
    errors                jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (flow_id, seq)
);
