-- Live carts' deadlines (issue 13, journey 4), kept by ``infra.cart_expiry`` from the event store's own
-- notification log, in the same transaction as its position there: the process managers find abandoned carts
-- here, never in a read model. Lives beside the event store.
CREATE TABLE IF NOT EXISTS cart_deadlines (
    cart_id UUID PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL,
    position BIGINT NOT NULL          -- the notification id of the event that set it
);
CREATE INDEX IF NOT EXISTS idx_cart_deadlines_due ON cart_deadlines (expires_at);

CREATE TABLE IF NOT EXISTS cart_expiry_position (
    name TEXT PRIMARY KEY,
    notification_id BIGINT NOT NULL
);
