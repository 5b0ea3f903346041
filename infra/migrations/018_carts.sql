-- Read model of Cart (GET /cart?stream_id=): a buyer's live cart for one show, its priced lines and totals as
-- the buyer saw them. aggregate_version is the idempotence guard and what GET ?min_version= waits for.
CREATE TABLE IF NOT EXISTS carts (
    id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    buyer_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    lines JSONB NOT NULL DEFAULT '[]',
    subtotal NUMERIC(14, 2) NOT NULL DEFAULT 0,
    discount NUMERIC(14, 2) NOT NULL DEFAULT 0,
    total NUMERIC(14, 2) NOT NULL DEFAULT 0,
    discount_rule JSONB,
    order_id UUID,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_carts_buyer ON carts(buyer_id, stream_id);
