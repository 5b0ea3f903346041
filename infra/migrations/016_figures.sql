-- ADR 0015 (one set of figures): the follow history behind a host's follower_growth, and the indexes the
-- shared sales and audience queries (projections/analytics_queries.py) look up by.
-- One row per HostFollow event: +1 followed / refollowed, -1 unfollowed. The followers at a moment are the sum
-- before it. Ids derive from the event (uuid5 of follow + version), so redelivery inserts nothing twice.
-- Filled by the analytics projection; a store that existed before this migration backfills with
-- `livecommerce project --rebuild analytics`.
CREATE TABLE IF NOT EXISTS analytics_follower_changes (
    id UUID PRIMARY KEY,
    follow_id UUID NOT NULL,                     -- the HostFollow aggregate (host, follower)
    host_id UUID NOT NULL,                       -- the host's profile id
    follower_id TEXT NOT NULL,
    delta SMALLINT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_analytics_follower_changes_host ON analytics_follower_changes(host_id, at);
CREATE INDEX IF NOT EXISTS idx_analytics_carts_stream ON analytics_carts(stream_id);
CREATE INDEX IF NOT EXISTS idx_live_streams_host ON live_streams(host_id);
CREATE INDEX IF NOT EXISTS idx_live_streams_featured ON live_streams(is_featured) WHERE is_featured;
