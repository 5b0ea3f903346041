-- Work that time makes due (a sale's start and end, a hold's deadline, an auction's end, a group buy's deadline,
-- payments and refunds nobody finished), kept from the event store's notification log by ``infra.due_work``
-- in the same transaction as its position there: the process managers find their work here, never in a read
-- model (application/due_work.py says which events add and remove entries). Lives beside the event store.
CREATE TABLE IF NOT EXISTS due_work (
    kind TEXT NOT NULL,
    aggregate_id UUID NOT NULL,
    item TEXT NOT NULL DEFAULT '',            -- a reservation or refund id; '' for the aggregate itself
    due_at TIMESTAMPTZ NOT NULL,
    stream_id UUID,                           -- set for deals that close when their show ends
    show_ended BOOLEAN NOT NULL DEFAULT false,
    data JSONB NOT NULL DEFAULT '{}'::jsonb,
    position BIGINT NOT NULL,                 -- the notification id of the event that last set it
    PRIMARY KEY (kind, aggregate_id, item)
);
CREATE INDEX IF NOT EXISTS idx_due_work_due ON due_work (kind, due_at);
CREATE INDEX IF NOT EXISTS idx_due_work_stream ON due_work (stream_id) WHERE stream_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS due_work_positions (
    name TEXT PRIMARY KEY,
    notification_id BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
