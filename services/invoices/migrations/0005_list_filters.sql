-- List filters: the other party's name is matched case- and accent-insensitively.
-- invoices_fold(text) folds the accented letters of French (and the œ/æ ligatures) without
-- needing the unaccent extension, so it is IMMUTABLE and behaves the same on every server.
CREATE FUNCTION invoices_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT replace(replace(translate(lower($1),
            'àáâãäåçèéêëìíîïñòóôõöùúûüýÿ',
            'aaaaaaceeeeiiiinooooouuuuyy'), 'œ', 'oe'), 'æ', 'ae')
    $$;
