-- GET /hosts/:id/streams: one host's shows newest first, paged by (created_at, id).
CREATE INDEX IF NOT EXISTS idx_live_streams_host_created ON live_streams(host_id, created_at DESC, id DESC);
