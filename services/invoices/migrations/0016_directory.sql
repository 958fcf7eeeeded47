-- Issue 16: invoices' own copy of the structures it deposits for and to (the directory read
-- model), so that a deposit does not ask structures for data that changes rarely.
--
-- Fed by the consumer of chorus.structures.events.v1 (events/directory.py) and by the answers
-- of structures' GetStructure / FindStructureByIdentifier on a miss (clients/structures.py).
-- ``structure`` is the chorus.structures.v1.Structure as structures sent it (services and
-- routing parameters included). ``version`` is the time of the state held: the event's time
-- (ce_time) or, for an answer of structures, a little before it was asked; an older state
-- never replaces a newer one. ``stale`` rows (a directory import changed structures without
-- one event each) and rows not confirmed for a while (``checked_at``) are asked again before
-- use.
CREATE TABLE directory (
    structure_id     uuid PRIMARY KEY,
    identifier_type  text NOT NULL,
    identifier       text NOT NULL,
    public           boolean NOT NULL,
    structure        bytea NOT NULL,
    version          timestamptz NOT NULL,
    checked_at       timestamptz NOT NULL DEFAULT now(),
    stale            boolean NOT NULL DEFAULT false,
    stale_since      timestamptz
);
CREATE INDEX directory_by_identifier ON directory (identifier_type, identifier);
