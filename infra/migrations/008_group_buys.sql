-- Group buys as viewers see them (built from GroupBuy events).
CREATE TABLE IF NOT EXISTS group_buys (
    id UUID PRIMARY KEY,
    stream_id UUID,
    product_id UUID NOT NULL,
    status TEXT NOT NULL,
    regular_price DECIMAL(12,2) NOT NULL,
    group_price DECIMAL(12,2) NOT NULL,
    min_buyers INTEGER NOT NULL,
    max_buyers INTEGER,
    buyers INTEGER NOT NULL DEFAULT 0,
    deadline TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_group_buys_due ON group_buys(status, deadline);
