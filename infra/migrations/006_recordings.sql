-- Read model of spec §2.1: live_stream_recordings (from media.recording_ready events).
CREATE TABLE IF NOT EXISTS live_stream_recordings (
    id UUID PRIMARY KEY,                 -- the media event's envelope id: a redelivery inserts nothing
    stream_id UUID NOT NULL,
    recording_url VARCHAR(500) NOT NULL,
    duration_seconds INTEGER NOT NULL,
    file_size_bytes BIGINT,
    quality_levels JSONB,
    thumbnail_url VARCHAR(500),
    is_processed BOOLEAN DEFAULT false,
    is_public BOOLEAN DEFAULT true,
    view_count INTEGER DEFAULT 0,
    download_count INTEGER DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_live_stream_recordings_stream ON live_stream_recordings(stream_id);
