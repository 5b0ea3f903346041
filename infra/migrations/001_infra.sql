-- Bookkeeping of the processes around the log.
CREATE TABLE IF NOT EXISTS relay_positions (
    name TEXT PRIMARY KEY,
    notification_id BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
