-- Analytics read models (spec §2.1 live_stream_viewers, live_stream_interactions, live_stream_analytics) and
-- the cart adds of the conversion funnel. Ids derive from the events, so redelivery inserts nothing twice.
CREATE TABLE IF NOT EXISTS live_stream_viewers (
    id UUID PRIMARY KEY,                         -- uuid5(stream, connection)
    stream_id UUID NOT NULL,
    user_id UUID,
    viewer_session_id VARCHAR(255) NOT NULL,
    join_time TIMESTAMP NOT NULL,
    leave_time TIMESTAMP,
    watch_duration_seconds INTEGER DEFAULT 0,
    device_type TEXT,
    location JSONB,
    ip_address INET,
    user_agent TEXT,
    interactions_count INTEGER DEFAULT 0,
    purchases_made INTEGER DEFAULT 0,
    total_spent DECIMAL(10,2) DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_live_stream_viewers_stream ON live_stream_viewers(stream_id);

CREATE TABLE IF NOT EXISTS live_stream_interactions (
    id UUID PRIMARY KEY,                         -- uuid5(envelope id)
    stream_id UUID NOT NULL,
    user_id UUID,
    interaction_type TEXT NOT NULL,              -- message, like, heart, question, purchase_intent, …
    content TEXT,
    metadata JSONB,
    timestamp TIMESTAMP NOT NULL,
    is_highlighted BOOLEAN DEFAULT false,
    moderator_approved BOOLEAN DEFAULT true
);
CREATE INDEX IF NOT EXISTS idx_live_stream_interactions_stream ON live_stream_interactions(stream_id, timestamp);

CREATE TABLE IF NOT EXISTS analytics_carts (
    id UUID PRIMARY KEY,                         -- the cart
    stream_id UUID NOT NULL,
    buyer_id UUID NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_cart_adds (
    id UUID PRIMARY KEY,                         -- uuid5(cart, version)
    cart_id UUID NOT NULL,
    product_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_analytics_cart_adds_cart ON analytics_cart_adds(cart_id);

CREATE TABLE IF NOT EXISTS live_stream_analytics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    stream_id UUID NOT NULL UNIQUE,
    metrics JSONB NOT NULL,
    engagement_metrics JSONB,
    sales_metrics JSONB,
    audience_metrics JSONB,
    technical_metrics JSONB,
    calculated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
