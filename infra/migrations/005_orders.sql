-- Orders and their payments as buyers, hosts and support see them (built from Order and Payment events).
CREATE TABLE IF NOT EXISTS orders (
    id UUID PRIMARY KEY,
    buyer_id UUID NOT NULL,
    stream_id UUID,
    status TEXT NOT NULL,
    lines JSONB NOT NULL,
    subtotal DECIMAL(12,2) NOT NULL,
    discount DECIMAL(12,2) NOT NULL DEFAULT 0,
    discount_code TEXT,
    total DECIMAL(12,2) NOT NULL,
    payment_method TEXT NOT NULL,
    emi JSONB,
    refunded DECIMAL(12,2) NOT NULL DEFAULT 0,
    payment_id UUID,
    payment_status TEXT NOT NULL DEFAULT 'pending',
    provider_txn_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0,
    payment_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_orders_buyer ON orders(buyer_id);
CREATE INDEX IF NOT EXISTS idx_orders_stream ON orders(stream_id);
