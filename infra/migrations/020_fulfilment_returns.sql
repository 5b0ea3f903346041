-- Fulfilment and returns (issue 13, journey 8), built from Order.Paid / Order.FulfilmentUpdated /
-- Order.ReturnRequested / Order.ReturnDecided; a refund sent to its provider (Payment.RefundSent) and one under
-- manual review (Payment.RefundReviewRequired, status 'manual_review') in order_refunds.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS fulfilment_status TEXT;  -- confirmed, packed, shipped, delivered
ALTER TABLE orders ADD COLUMN IF NOT EXISTS courier TEXT;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS tracking_id TEXT;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS confirmed_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS packed_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS delivered_at TIMESTAMP;

CREATE TABLE IF NOT EXISTS order_returns (
    return_id UUID PRIMARY KEY,
    order_id UUID NOT NULL,
    status TEXT NOT NULL,  -- requested, accepted, refused
    items JSONB NOT NULL,
    reason TEXT NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    note TEXT,
    refund_id UUID,
    requested_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    version INTEGER NOT NULL  -- the order's version that last wrote the row
);
CREATE INDEX IF NOT EXISTS idx_order_returns_order ON order_returns(order_id);

ALTER TABLE order_refunds ADD COLUMN IF NOT EXISTS sent_at TIMESTAMP;
