-- Where the broker put each published row (set with published_at, from the acknowledgement).
ALTER TABLE outbox ADD COLUMN kafka_partition integer, ADD COLUMN kafka_offset bigint;

-- The relay's high-water mark per partition: the lowest end offset a broker that kept every
-- row it acknowledged can report there (1 + the first offset of the relay's last acknowledged
-- batch; see chorus_platform.outbox). A broker reporting less has lost acknowledged records.
CREATE TABLE outbox_high_water (
    topic          text NOT NULL,
    partition      integer NOT NULL,
    min_end_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- Records a consumer gave up on, kept in the consuming service's database so that they
-- outlive the broker (`python -m chorus_platform.dlq show|replay`).
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text NOT NULL,
    topic         text NOT NULL,
    partition     integer NOT NULL,
    "offset"      bigint NOT NULL,
    key           bytea,
    header_keys   text[] NOT NULL,
    header_values bytea[] NOT NULL,
    value         bytea,
    event_id      text,
    event_type    text,
    error         text NOT NULL,
    attempts      integer NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at   timestamptz
);
-- One pending dead letter per consumer and event: a redelivered record is not parked twice.
CREATE UNIQUE INDEX dead_letters_pending ON dead_letters (consumer, event_id)
    WHERE replayed_at IS NULL;
