-- Messages a consumer (a read model, a process manager, the relay) could not handle, set aside with their
-- error so the rest of the log flows on (infra/dead_letters.py, ADR 0019). Open ones are counted by /health
-- and replayed by `livecommerce dead-letters replay` after a fix. A message's later events of the same
-- aggregate wait here too (park_key), so a replay applies them in their log order.
CREATE TABLE IF NOT EXISTS dead_letters (
    id BIGSERIAL PRIMARY KEY,
    consumer TEXT NOT NULL,            -- 'projection.hosts', 'relay', 'process.media', ...
    message_id TEXT NOT NULL,          -- the envelope id (or topic:partition:offset when undecodable)
    reason TEXT NOT NULL,              -- failed | parked | too_large | undecodable
    error TEXT NOT NULL,
    park_key TEXT,                     -- the aggregate later events of which wait behind this letter
    position BIGINT,                   -- the store's notification id (store events): replays read the store
    aggregate_id TEXT,
    aggregate_version BIGINT,
    event_type TEXT,
    source_topic TEXT,
    source_partition INTEGER,
    source_offset BIGINT,
    message BYTEA,                     -- the message as received (NULL when the store holds it and it is big)
    status TEXT NOT NULL DEFAULT 'open',  -- open | replayed
    attempts INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    replayed_at TIMESTAMPTZ,
    UNIQUE (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS idx_dead_letters_open ON dead_letters(consumer, id) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS idx_dead_letters_parked ON dead_letters(consumer, park_key) WHERE status = 'open';
