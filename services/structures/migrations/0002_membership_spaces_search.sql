-- Attachment requests, manager action history, space subscriptions with their decisions, the
-- "never without a principal" rule, and typo-tolerant name search.

-- Typo-tolerant search (trigram similarity). pg_trgm ships with PostgreSQL contrib and is a
-- trusted extension (PostgreSQL 13+).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- search_text is already folded (structures_fold: lower-cased, accents removed where unaccent
-- exists); one trigram index serves both LIKE '%word%' and word similarity (<%).
CREATE INDEX structures_search_trgm ON structures USING gin (search_text gin_trgm_ops);

-- A user's request to join a structure, decided by one of its managers.
CREATE TABLE attachment_requests (
    id               uuid PRIMARY KEY,
    structure_id     uuid NOT NULL REFERENCES structures (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL,
    status           text NOT NULL CHECK (status IN
        ('EN_COURS_DE_VALIDATION', 'VALIDEE', 'REFUSEE', 'DESACTIVEE', 'ANNULEE')),
    comment          text NOT NULL DEFAULT '',
    -- Services asked for (checked against the structure's services when asked).
    service_ids      uuid[] NOT NULL DEFAULT '{}',
    granted_role     text CHECK (granted_role IN ('GESTIONNAIRE_SECONDAIRE', 'UTILISATEUR',
                                                  'GESTIONNAIRE_PRINCIPAL')),
    decision_comment text NOT NULL DEFAULT '',
    decided_by       uuid,
    requested_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    decided_at       timestamptz
);
-- One pending request per user and structure.
CREATE UNIQUE INDEX attachment_requests_one_pending ON attachment_requests (structure_id, user_id)
    WHERE status = 'EN_COURS_DE_VALIDATION';
CREATE INDEX attachment_requests_by_structure
    ON attachment_requests (structure_id, requested_at DESC, id DESC);
CREATE INDEX attachment_requests_by_user ON attachment_requests (user_id, requested_at DESC);

-- Subscriptions: decisions keep the manager's comment; at most one pending per space.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
    CHECK (status IN ('EN_COURS_DE_VALIDATION', 'VALIDEE', 'REFUSEE', 'RESILIEE'));
ALTER TABLE subscriptions ADD COLUMN decision_comment text NOT NULL DEFAULT '';
ALTER TABLE subscriptions ALTER COLUMN requested_at SET DEFAULT clock_timestamp();
CREATE UNIQUE INDEX subscriptions_one_pending ON subscriptions (structure_id, user_id, space)
    WHERE status = 'EN_COURS_DE_VALIDATION';
CREATE INDEX subscriptions_by_structure ON subscriptions (structure_id, requested_at DESC, id DESC);

-- What managers did ("historique des actions du gestionnaire"), newest first.
CREATE TABLE manager_actions (
    id             uuid PRIMARY KEY,
    structure_id   uuid NOT NULL REFERENCES structures (id) ON DELETE CASCADE,
    kind           text NOT NULL,
    actor_user_id  uuid,
    target_user_id uuid,
    details        jsonb NOT NULL DEFAULT '{}',
    at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX manager_actions_by_structure ON manager_actions (structure_id, at DESC, id DESC);

-- A structure that has had a principal manager keeps exactly one. The partial unique index
-- (0001) forbids a second; this deferred check, run at commit, forbids none: a transfer may
-- demote then promote inside its transaction, but cannot commit half of it. Deleting the
-- structure itself (cascade) is allowed.
CREATE FUNCTION memberships_keep_principal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role = 'GESTIONNAIRE_PRINCIPAL'
       AND EXISTS (SELECT 1 FROM structures WHERE id = OLD.structure_id)
       AND NOT EXISTS (SELECT 1 FROM memberships
                        WHERE structure_id = OLD.structure_id
                          AND role = 'GESTIONNAIRE_PRINCIPAL') THEN
        RAISE EXCEPTION 'structure % would be left without a principal manager', OLD.structure_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_keep_principal';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER memberships_keep_principal
    AFTER UPDATE OF role OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION memberships_keep_principal();
