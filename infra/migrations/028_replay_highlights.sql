-- Replays of ended shows (issue 15): where the wall clock meets the recording, each highlight clip, and every
-- time a product was featured (the replay's product timeline). Read models: rebuilt from the log.
ALTER TABLE live_stream_recordings ADD COLUMN IF NOT EXISTS clock JSONB NOT NULL DEFAULT '[]'::jsonb;
CREATE TABLE IF NOT EXISTS live_stream_highlights (
    stream_id UUID NOT NULL,
    clip_index INTEGER NOT NULL,            -- NN of highlights/NN/, in show order
    event_id UUID NOT NULL,                 -- the media.highlight_ready envelope
    clip_rank INTEGER NOT NULL,
    start_s DOUBLE PRECISION NOT NULL,
    end_s DOUBLE PRECISION NOT NULL,
    peak_s DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    reasons JSONB NOT NULL DEFAULT '[]'::jsonb,
    product_id TEXT,
    playlist_url VARCHAR(500) NOT NULL,
    mp4_url VARCHAR(500),
    thumbnail_url VARCHAR(500),
    program_date_time TIMESTAMP,
    counts JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (stream_id, clip_index)
);
CREATE TABLE IF NOT EXISTS live_stream_featured_history (
    stream_id UUID NOT NULL,
    aggregate_version INTEGER NOT NULL,     -- the LiveStream.ProductFeatured event's version: applied once
    product_id TEXT NOT NULL,
    featured_at TIMESTAMP NOT NULL,
    PRIMARY KEY (stream_id, aggregate_version)
);
