-- Structures: legal entities, their services, memberships, spaces and space subscriptions.
-- Enumerated values are stored as the proto enum names without their prefix ('SIRET', 'PUBLIQUE').

-- Accent- and case-insensitive search. unaccent ships with PostgreSQL contrib and is a trusted
-- extension (PostgreSQL 13+); where it is missing, search falls back to lower() alone.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN undefined_file OR feature_not_supported OR insufficient_privilege THEN
    RAISE NOTICE 'unaccent unavailable: structure name search will be accent-sensitive';
END
$$;

-- structures_fold(text): the form names are compared in. Declared IMMUTABLE so generated columns
-- and (later) trigram indexes can use it; unaccent() itself is only STABLE because its rules
-- file could change, which this project does not do. The extension's schema is spelled out so
-- the function does not depend on search_path.
DO $$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    IF ext_schema IS NULL THEN
        EXECUTE 'CREATE FUNCTION structures_fold(text) RETURNS text'
             || ' LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE'
             || ' AS $f$ SELECT lower($1) $f$';
    ELSE
        EXECUTE format(
            'CREATE FUNCTION structures_fold(text) RETURNS text'
            ' LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE'
            ' AS $f$ SELECT lower(%1$I.unaccent(%2$L::regdictionary, $1)) $f$',
            ext_schema, ext_schema || '.unaccent');
    END IF;
END
$$;

CREATE TABLE structures (
    id                             uuid PRIMARY KEY,
    identifier_type                text NOT NULL CHECK (identifier_type IN
        ('SIRET', 'UE_HORS_FRANCE', 'HORS_UE', 'RIDET', 'TAHITI', 'PARTICULIER', 'AUTRE')),
    identifier                     text NOT NULL,
    raison_sociale                 text NOT NULL,
    libelle                        text NOT NULL DEFAULT '',
    kind                           text NOT NULL CHECK (kind IN ('PRIVEE', 'PUBLIQUE')),
    status                         text NOT NULL DEFAULT 'ACTIVE'
                                   CHECK (status IN ('ACTIVE', 'INACTIVE')),
    address_line1                  text NOT NULL,
    address_line2                  text NOT NULL DEFAULT '',
    postal_code                    text NOT NULL,
    city                           text NOT NULL,
    country                        text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    email                          text NOT NULL DEFAULT '',
    vat_number                     text NOT NULL DEFAULT '',
    service_code_required          boolean NOT NULL DEFAULT false,
    engagement_required            boolean NOT NULL DEFAULT false,
    service_or_engagement_required boolean NOT NULL DEFAULT false,
    payment_status_not_reported    boolean NOT NULL DEFAULT false,
    created_by                     uuid,  -- NULL when imported (directory seed)
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now(),
    -- Search keys, kept by PostgreSQL itself.
    identifier_key                 text GENERATED ALWAYS AS
                                   (upper(regexp_replace(identifier, '\s', '', 'g'))) STORED,
    sort_key                       text GENERATED ALWAYS AS
                                   (structures_fold(raison_sociale)) STORED,
    search_text                    text GENERATED ALWAYS AS
                                   (structures_fold(raison_sociale || ' ' || libelle)) STORED,
    UNIQUE (identifier_type, identifier)
);
CREATE INDEX structures_identifier_prefix ON structures (identifier_key text_pattern_ops);
CREATE INDEX structures_by_name ON structures (sort_key, id);

-- Services (departments) of a structure: routing targets for invoices.
CREATE TABLE structure_services (
    id                  uuid PRIMARY KEY,
    structure_id        uuid NOT NULL REFERENCES structures (id) ON DELETE CASCADE,
    code                text NOT NULL,
    name                text NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    engagement_required boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (structure_id, code),
    UNIQUE (structure_id, id)
);

-- Who belongs to which structure, with which role.
CREATE TABLE memberships (
    structure_id uuid NOT NULL REFERENCES structures (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    role         text NOT NULL CHECK (role IN
        ('GESTIONNAIRE_PRINCIPAL', 'GESTIONNAIRE_SECONDAIRE', 'UTILISATEUR')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (structure_id, user_id)
);
-- Exactly one principal manager per structure (at most one here; the application never leaves
-- a user-created structure without one, and imported structures start with none).
CREATE UNIQUE INDEX memberships_one_principal ON memberships (structure_id)
    WHERE role = 'GESTIONNAIRE_PRINCIPAL';
CREATE INDEX memberships_by_user ON memberships (user_id, structure_id) INCLUDE (role);

-- A simple user attached to some services only; no row means the whole structure.
CREATE TABLE membership_services (
    structure_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    service_id   uuid NOT NULL,
    PRIMARY KEY (structure_id, user_id, service_id),
    FOREIGN KEY (structure_id, user_id)
        REFERENCES memberships (structure_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (structure_id, service_id)
        REFERENCES structure_services (structure_id, id) ON DELETE CASCADE
);

-- Feature areas of each structure and whether they are open.
CREATE TABLE spaces (
    structure_id uuid NOT NULL REFERENCES structures (id) ON DELETE CASCADE,
    space        text NOT NULL CHECK (space IN
        ('FACTURES_EMISES', 'FACTURES_RECUES', 'SOLLICITATIONS_EMISES', 'SOLLICITATIONS_RECUES',
         'ACTIVITES_GESTIONNAIRE', 'MON_COMPTE', 'ENGAGEMENTS', 'FACTURES_TRAVAUX',
         'FACTURES_A_VALIDER', 'SUIVI_FLUX', 'MEMOIRES_FRAIS_JUSTICE', 'REMBOURSEMENT_TIC')),
    open         boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (structure_id, space)
);

-- A simple user's request to use a space, validated or refused by a manager.
CREATE TABLE subscriptions (
    id           uuid PRIMARY KEY,
    structure_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    space        text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('CONSULTATION', 'MODIFICATION')),
    status       text NOT NULL CHECK (status IN ('EN_COURS_DE_VALIDATION', 'VALIDEE', 'REFUSEE')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    decided_by   uuid,
    FOREIGN KEY (structure_id, user_id)
        REFERENCES memberships (structure_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (structure_id, space) REFERENCES spaces (structure_id, space) ON DELETE CASCADE
);
-- One validated subscription per (structure, user, space): the access check reads it by key.
CREATE UNIQUE INDEX subscriptions_one_validated ON subscriptions (structure_id, user_id, space)
    WHERE status = 'VALIDEE';
