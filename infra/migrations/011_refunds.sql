-- Refunds of orders and their state at the provider (built from Payment.Refunded / RefundCompleted /
-- RefundFailed). The refund manager of `livecommerce process` retries the rows still 'requested'.
CREATE TABLE IF NOT EXISTS order_refunds (
    refund_id UUID PRIMARY KEY,
    order_id UUID NOT NULL,
    payment_id UUID NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    reason TEXT,
    status TEXT NOT NULL,
    manual BOOLEAN NOT NULL DEFAULT FALSE,
    provider_refund_id TEXT,
    failure TEXT,
    requested_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_order_refunds_order ON order_refunds(order_id);
CREATE INDEX IF NOT EXISTS idx_order_refunds_requested ON order_refunds(requested_at) WHERE status = 'requested';
