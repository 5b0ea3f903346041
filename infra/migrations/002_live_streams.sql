-- Read models of spec §2.1: live_streams and live_stream_products.
-- Foreign keys to vendors/products/users are left out: those tables belong to other services.
-- Extra column: aggregate_version (the stream aggregate's version this row reflects; the idempotence guard and
-- what read-your-writes waits for).
DO $$ BEGIN
    CREATE TYPE stream_type AS ENUM ('product_demo', 'flash_sale', 'auction', 'tutorial', 'q_and_a', 'behind_scenes');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE stream_status AS ENUM ('scheduled', 'live', 'ended', 'cancelled', 'processing');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE language_code AS ENUM ('en', 'bn', 'mixed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS live_streams (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id UUID NOT NULL,
    host_id UUID,
    stream_key VARCHAR(255) UNIQUE NOT NULL,
    title VARCHAR(255) NOT NULL,
    title_bn VARCHAR(255),
    description TEXT,
    description_bn TEXT,
    stream_type stream_type NOT NULL,
    category VARCHAR(100),
    thumbnail_url VARCHAR(500),
    cover_image_url VARCHAR(500),
    status stream_status DEFAULT 'scheduled',
    scheduled_start_time TIMESTAMP,
    actual_start_time TIMESTAMP,
    end_time TIMESTAMP,
    duration_seconds INTEGER DEFAULT 0,
    max_viewers INTEGER DEFAULT 1000,
    current_viewers INTEGER DEFAULT 0,
    total_unique_viewers INTEGER DEFAULT 0,
    peak_concurrent_viewers INTEGER DEFAULT 0,
    is_recorded BOOLEAN DEFAULT true,
    recording_url VARCHAR(500),
    is_public BOOLEAN DEFAULT true,
    is_featured BOOLEAN DEFAULT false,
    language language_code DEFAULT 'bn',
    tags JSONB,
    stream_settings JSONB,
    metadata JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS live_stream_products (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    stream_id UUID NOT NULL REFERENCES live_streams(id) ON DELETE CASCADE,
    product_id UUID NOT NULL,
    display_order INTEGER DEFAULT 0,
    featured_timestamp TIMESTAMP,
    special_price DECIMAL(10,2),
    discount_percentage DECIMAL(5,2),
    limited_quantity INTEGER,
    sold_quantity INTEGER DEFAULT 0,
    is_flash_sale BOOLEAN DEFAULT false,
    flash_sale_end_time TIMESTAMP,
    presentation_notes TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (stream_id, product_id)
);

CREATE INDEX IF NOT EXISTS idx_live_streams_vendor ON live_streams(vendor_id);
CREATE INDEX IF NOT EXISTS idx_live_streams_status ON live_streams(status);
CREATE INDEX IF NOT EXISTS idx_live_streams_scheduled_start ON live_streams(scheduled_start_time);
CREATE INDEX IF NOT EXISTS idx_live_streams_category ON live_streams(category);
CREATE INDEX IF NOT EXISTS idx_live_stream_products_stream ON live_stream_products(stream_id);
