-- Fraud detection (issue 17 part 1). The detector's own read model (projection fraud_signals): what it has seen
-- of orders, payments, returns, auctions, bids, coin top-ups and gifts, kept to compute its features; and the
-- review queue (projection fraud_cases) built from FraudCase events. Both are rebuilt from the log.
CREATE TABLE IF NOT EXISTS fraud_seen (
    aggregate_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL  -- the last version of the aggregate the detector applied (redelivery: no-op)
);
CREATE TABLE IF NOT EXISTS fraud_sellers (
    stream_id TEXT PRIMARY KEY,
    vendor_id TEXT,
    host_id TEXT
);
CREATE TABLE IF NOT EXISTS fraud_orders (
    order_id TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL,
    phone TEXT,
    address_key TEXT,  -- the street-level address, normalised; None when only a city/area was given
    device_id TEXT,
    payment_method TEXT NOT NULL,
    total NUMERIC(12,2) NOT NULL,
    stream_id TEXT,
    placed_at TIMESTAMP NOT NULL,
    shipped BOOLEAN NOT NULL DEFAULT false,
    cod_refused BOOLEAN NOT NULL DEFAULT false,
    refunds INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_fraud_orders_buyer ON fraud_orders(buyer_id, placed_at);
CREATE INDEX IF NOT EXISTS idx_fraud_orders_phone ON fraud_orders(phone, placed_at);
CREATE INDEX IF NOT EXISTS idx_fraud_orders_address ON fraud_orders(address_key, placed_at);
CREATE INDEX IF NOT EXISTS idx_fraud_orders_device ON fraud_orders(device_id, placed_at);
CREATE TABLE IF NOT EXISTS fraud_order_sales (
    order_id TEXT NOT NULL,
    flash_sale_id TEXT NOT NULL,
    units INTEGER NOT NULL,
    PRIMARY KEY (order_id, flash_sale_id)
);
CREATE INDEX IF NOT EXISTS idx_fraud_order_sales_sale ON fraud_order_sales(flash_sale_id);
CREATE TABLE IF NOT EXISTS fraud_payments (
    payment_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    failed_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS fraud_returns (
    return_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    buyer_id TEXT,
    requested_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS fraud_auctions (
    auction_id TEXT PRIMARY KEY,
    stream_id TEXT,
    winner_id TEXT,
    paid BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS fraud_bids (
    bid_id TEXT PRIMARY KEY,
    auction_id TEXT NOT NULL,
    bidder_id TEXT NOT NULL,
    seller_id TEXT,
    placed_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_fraud_bids_bidder ON fraud_bids(bidder_id);
CREATE TABLE IF NOT EXISTS fraud_top_ups (
    top_up_id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL,
    amount NUMERIC(12,2) NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    failed_at TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_fraud_top_ups_wallet ON fraud_top_ups(wallet_id, requested_at);
CREATE TABLE IF NOT EXISTS fraud_gifts (
    gift_key TEXT PRIMARY KEY,  -- wallet id + version
    wallet_id TEXT NOT NULL,
    coins INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS fraud_suspicions (
    case_id TEXT PRIMARY KEY,  -- the FraudCase the detector asked for (a subject is suspected once)
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    reasons JSONB NOT NULL
);

-- The admin review queue.
CREATE TABLE IF NOT EXISTS fraud_cases (
    case_id UUID PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    order_id TEXT,
    buyer_id TEXT,
    score DOUBLE PRECISION NOT NULL,
    reasons JSONB NOT NULL,
    features JSONB NOT NULL,
    status TEXT NOT NULL,  -- open, cleared, confirmed
    decided_by TEXT,
    note TEXT,
    opened_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_fraud_cases_status ON fraud_cases(status, opened_at);
