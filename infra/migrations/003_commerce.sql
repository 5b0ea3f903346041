-- Read models of spec §2.1 for commerce: flash_sales and live_stream_purchases; plus the idempotency-key store.
DO $$ BEGIN
    CREATE TYPE flash_sale_status AS ENUM ('scheduled', 'active', 'ended', 'sold_out', 'cancelled');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE payment_status AS ENUM ('pending', 'processing', 'completed', 'failed', 'refunded');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS flash_sales (
    id UUID PRIMARY KEY,
    stream_id UUID,
    product_id UUID NOT NULL,
    vendor_id UUID NOT NULL,
    sale_name VARCHAR(255) NOT NULL,
    original_price DECIMAL(10,2) NOT NULL,
    flash_price DECIMAL(10,2) NOT NULL,
    discount_percentage DECIMAL(5,2) NOT NULL,
    available_quantity INTEGER NOT NULL,
    sold_quantity INTEGER DEFAULT 0,
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    status flash_sale_status DEFAULT 'scheduled',
    notification_sent BOOLEAN DEFAULT false,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- extensions: the stock ledger as the aggregate last reported it, and the idempotence guard
    total_quantity INTEGER NOT NULL DEFAULT 0,
    reserved_quantity INTEGER NOT NULL DEFAULT 0,
    max_per_buyer INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_flash_sales_start_time ON flash_sales(start_time);
CREATE INDEX IF NOT EXISTS idx_flash_sales_status ON flash_sales(status);
CREATE INDEX IF NOT EXISTS idx_flash_sales_stream ON flash_sales(stream_id);

CREATE TABLE IF NOT EXISTS live_stream_purchases (
    id UUID PRIMARY KEY,                -- the reservation id
    stream_id UUID,
    user_id UUID NOT NULL,
    product_id UUID NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    unit_price DECIMAL(10,2) NOT NULL,
    total_amount DECIMAL(10,2) NOT NULL,
    discount_applied DECIMAL(10,2) DEFAULT 0,
    order_id UUID,
    purchase_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    payment_status payment_status DEFAULT 'pending',
    flash_sale_id UUID
);
CREATE INDEX IF NOT EXISTS idx_live_stream_purchases_stream ON live_stream_purchases(stream_id);
CREATE INDEX IF NOT EXISTS idx_live_stream_purchases_sale ON live_stream_purchases(flash_sale_id);

-- A retry with the same Idempotency-Key gets the first answer; the same key with another body is refused.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created ON idempotency_keys(created_at);
