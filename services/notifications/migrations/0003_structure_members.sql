-- Structure members: a local projection of structures' memberships (MemberAdded,
-- MemberRoleChanged, MemberServicesChanged, PrincipalTransferred, MemberDetached), so that an
-- invoice event naming a structure can be told to that structure's users.
CREATE TABLE structure_members (
    structure_id  uuid NOT NULL,
    user_id       uuid NOT NULL,
    role          text NOT NULL,
    -- The services the member is limited to (structures' service ids); empty: all of them.
    service_ids   text[] NOT NULL DEFAULT '{}',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (structure_id, user_id)
);
CREATE INDEX structure_members_by_user ON structure_members (user_id);
