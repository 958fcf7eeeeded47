-- Issue 11 follow-up: the flow worker no longer acts with the depositor's access token.
--
-- DepositFlow decides the depositor's right once (MODIFICATION on the supplier's
-- FACTURES_EMISES) and an archive waiting for the worker now keeps, instead of the token, the
-- supplier structure as the directory described it then (``supplier``: its identifier for the
-- seller = supplier rule, its kind, name and address), cleared with the content when the flow
-- is decided. The worker deposits each file for that supplier, the depositor as actor, and
-- looks recipients up in the public directory without a token. Bearer tokens are no longer
-- stored: the column and the tokens still in it are dropped. A flow left pending from before
-- has no recorded supplier; the worker reports its remaining files FLOW_PROCESSING_FAILED.
ALTER TABLE flows ADD COLUMN supplier jsonb;
ALTER TABLE flows DROP COLUMN depositor_token;
