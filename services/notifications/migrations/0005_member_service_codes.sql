-- The codes of the services a member is limited to (from MemberAdded / MemberServicesChanged),
-- so that an invoice addressed to a service is told only to the members who may see it.
-- Members projected before this column existed keep '{}' until their next membership event:
-- for them the codes are unknown and every invoice of the structure is told, as before.
ALTER TABLE structure_members ADD COLUMN service_codes text[] NOT NULL DEFAULT '{}';
