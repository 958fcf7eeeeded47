-- Integer ids for the Chorus Pro-compatible API (issue #11): idStructureCPP / idStructure is
-- structures.cpp_id, idService is structure_services.cpp_id. Each is a bigint identity
-- (GENERATED ALWAYS: only the sequence gives them), unique, never reused (a sequence never
-- hands out a number twice; a deleted row's number stays unused).
--
-- Existing rows are numbered first, in creation order, then the column becomes an identity
-- starting after the highest number given.

ALTER TABLE structures ADD COLUMN cpp_id bigint;
UPDATE structures s
   SET cpp_id = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM structures) numbered
 WHERE numbered.id = s.id;
ALTER TABLE structures ALTER COLUMN cpp_id SET NOT NULL;
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE structures ALTER COLUMN cpp_id ADD GENERATED ALWAYS AS IDENTITY (START WITH %s)',
        (SELECT coalesce(max(cpp_id), 0) + 1 FROM structures));
END
$$;
ALTER TABLE structures ADD CONSTRAINT structures_cpp_id_key UNIQUE (cpp_id);

ALTER TABLE structure_services ADD COLUMN cpp_id bigint;
UPDATE structure_services sv
   SET cpp_id = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, structure_id, code) AS n
          FROM structure_services) numbered
 WHERE numbered.id = sv.id;
ALTER TABLE structure_services ALTER COLUMN cpp_id SET NOT NULL;
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE structure_services ALTER COLUMN cpp_id ADD GENERATED ALWAYS AS IDENTITY'
        ' (START WITH %s)',
        (SELECT coalesce(max(cpp_id), 0) + 1 FROM structure_services));
END
$$;
ALTER TABLE structure_services ADD CONSTRAINT structure_services_cpp_id_key UNIQUE (cpp_id);

-- Search filters of the Chorus Pro API (structures/v1/rechercher): postal code and city.
CREATE INDEX structures_by_postal_code ON structures (postal_code);
