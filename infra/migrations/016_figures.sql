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
-- How far each person got in each show (the audience and the funnel's steps, counted per person): one row per
-- (show, person); flags only turn on, so redelivery and replay change nothing. ``who`` is the signed-in user's
-- id, else the anonymous viewer's connection (the queries' viewer key).
CREATE TABLE IF NOT EXISTS analytics_reach (
    stream_id UUID NOT NULL,
    who TEXT NOT NULL,
    joined BOOLEAN NOT NULL DEFAULT false,       -- joined the show's room
    tapped BOOLEAN NOT NULL DEFAULT false,       -- tapped a product (a purchase intent)
    carted BOOLEAN NOT NULL DEFAULT false,       -- added to the live cart, or checked out
    PRIMARY KEY (stream_id, who)
);
CREATE INDEX IF NOT EXISTS idx_analytics_follower_changes_host ON analytics_follower_changes(host_id, at);
CREATE INDEX IF NOT EXISTS idx_analytics_carts_stream ON analytics_carts(stream_id);
CREATE INDEX IF NOT EXISTS idx_live_streams_host ON live_streams(host_id);
CREATE INDEX IF NOT EXISTS idx_live_streams_featured ON live_streams(is_featured) WHERE is_featured;
