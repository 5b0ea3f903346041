-- Recommendations' own read model (ADR 0024): raw facts only, so it comes out the same whatever order the two
-- logs (store events, gateway interactions) are replayed in; the models rank at query time from these rows.
-- Every row's id derives from its event, and inserts are ON CONFLICT DO NOTHING: redelivery changes nothing.
CREATE TABLE IF NOT EXISTS rec_signals (
    id UUID PRIMARY KEY,                         -- uuid5(event id [, line])
    user_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    stream_id TEXT,
    kind TEXT NOT NULL,                          -- purchase, cart, intent
    at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rec_signals_user ON rec_signals(user_id);
CREATE INDEX IF NOT EXISTS idx_rec_signals_product ON rec_signals(product_id, user_id);

CREATE TABLE IF NOT EXISTS rec_carts (
    id TEXT PRIMARY KEY,                         -- the cart (Cart.ItemAdded does not name the buyer)
    buyer_id TEXT NOT NULL,
    stream_id TEXT
);

CREATE TABLE IF NOT EXISTS rec_stream_products (
    stream_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    display_order INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, product_id)
);

CREATE TABLE IF NOT EXISTS rec_streams (
    id TEXT PRIMARY KEY,
    host_id TEXT,                                -- the host's user id
    category TEXT,
    language TEXT,
    is_public BOOLEAN NOT NULL DEFAULT true,
    status TEXT NOT NULL,                        -- scheduled, live, ended, cancelled
    scheduled_start_time TIMESTAMP,
    started_at TIMESTAMP,
    aggregate_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rec_streams_status ON rec_streams(status);
CREATE INDEX IF NOT EXISTS idx_rec_streams_host ON rec_streams(host_id);

CREATE TABLE IF NOT EXISTS rec_follows (
    id TEXT PRIMARY KEY,                         -- the HostFollow aggregate (one per follower and host)
    host_user_id TEXT NOT NULL,
    follower_id TEXT NOT NULL,
    following BOOLEAN NOT NULL,
    aggregate_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rec_follows_follower ON rec_follows(follower_id);

CREATE TABLE IF NOT EXISTS rec_watches (
    id UUID PRIMARY KEY,                         -- uuid5(envelope id)
    user_id TEXT NOT NULL,                       -- signed-in viewers only
    stream_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rec_watches_user ON rec_watches(user_id);
CREATE INDEX IF NOT EXISTS idx_rec_watches_stream ON rec_watches(stream_id, at);
