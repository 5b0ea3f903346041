-- Issue 20 part 7: per-person channel preferences and quiet hours, deliveries held until quiet hours end,
-- and the delivery receipts on their way to the log (an outbox: written with the delivery's change, published
-- to {prefix}.notifications afterwards).
CREATE TABLE IF NOT EXISTS notification_preferences (
    user_id UUID PRIMARY KEY,
    preferences JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE live_stream_notification_deliveries ADD COLUMN IF NOT EXISTS held_until TIMESTAMPTZ;

CREATE TABLE IF NOT EXISTS notification_receipts (
    id UUID PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    notification_id UUID NOT NULL,
    recipient_id UUID NOT NULL,
    stream_id UUID,
    kind TEXT NOT NULL,
    channel VARCHAR(20) NOT NULL,
    outcome TEXT NOT NULL,  -- accepted, failed, held
    provider TEXT,
    provider_message_id TEXT,
    error TEXT,
    attempt INTEGER NOT NULL,
    held_until TIMESTAMPTZ,
    occurred_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_notification_receipts_unpublished ON notification_receipts(occurred_at)
    WHERE published_at IS NULL;
