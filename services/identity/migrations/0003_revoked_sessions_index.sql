-- ListRevokedSessions reads the sessions revoked in the last access-token lifetime, in
-- (revoked_at, id) order, at every start of every service: an index keeps that a range scan
-- however many sessions accumulate.
CREATE INDEX sessions_revoked ON sessions (revoked_at, id) WHERE revoked_at IS NOT NULL;
