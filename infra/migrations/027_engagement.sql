-- The engagement optimizer's read model (projections/engagement_pg.py, ADR 0025): a show's minutes of event
-- time (viewers in and out, chat with its sentiment, reactions, purchase intents, orders), its repeated chat
-- themes (complaints, questions), its prepared flash sales, and the suggestions made to its host.
CREATE TABLE IF NOT EXISTS engagement_minutes (
    stream_id UUID NOT NULL,
    minute TIMESTAMP NOT NULL,
    joins INTEGER NOT NULL DEFAULT 0,
    leaves INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    positive INTEGER NOT NULL DEFAULT 0,
    neutral INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    reactions INTEGER NOT NULL DEFAULT 0,
    intents INTEGER NOT NULL DEFAULT 0,
    orders INTEGER NOT NULL DEFAULT 0,
    score_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, minute)
);
CREATE INDEX IF NOT EXISTS idx_engagement_minutes_recent ON engagement_minutes(minute);
-- Interactions applied, per show and gateway origin (their ids carry a sequence per origin).
CREATE TABLE IF NOT EXISTS engagement_marks (
    stream_id UUID NOT NULL,
    origin TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (stream_id, origin)
);
-- Store events counted into the minutes (orders), by aggregate and version.
CREATE TABLE IF NOT EXISTS engagement_seen (
    aggregate_id UUID NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (aggregate_id, version)
);
CREATE TABLE IF NOT EXISTS engagement_themes (
    stream_id UUID NOT NULL,
    kind TEXT NOT NULL,  -- complaint | question
    key TEXT NOT NULL,
    example TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    last_at TIMESTAMP NOT NULL,
    PRIMARY KEY (stream_id, kind, key)
);
CREATE TABLE IF NOT EXISTS engagement_sales (
    sale_id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    product_id TEXT,
    sale_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    start_time TIMESTAMP,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_engagement_sales_stream ON engagement_sales(stream_id);
CREATE TABLE IF NOT EXISTS engagement_shows (
    stream_id UUID PRIMARY KEY,
    ended_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS engagement_suggestions (
    suggestion_id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    kind TEXT NOT NULL,
    minute TIMESTAMP NOT NULL,
    message TEXT NOT NULL,
    message_bn TEXT NOT NULL,
    evidence JSONB NOT NULL,
    action JSONB NOT NULL,
    made_at TIMESTAMP NOT NULL,
    position BIGINT
);
CREATE INDEX IF NOT EXISTS idx_engagement_suggestions_stream ON engagement_suggestions(stream_id, made_at);
