-- Hosts (spec §2.1 live_commerce_hosts), their followers and streams, stream moderators, and notifications
-- (spec §2.1 live_stream_notifications) with their per-recipient deliveries and the jobs that schedule them.
-- Foreign keys to users/vendors are left out: those tables belong to other services.
DO $$ BEGIN
    CREATE TYPE host_experience AS ENUM ('beginner', 'intermediate', 'expert', 'celebrity');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE verification_status AS ENUM ('pending', 'verified', 'rejected');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE notification_type AS ENUM ('stream_starting', 'stream_reminder', 'flash_sale_alert',
                                           'product_available');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE recipient_type AS ENUM ('followers', 'subscribers', 'all_users', 'targeted_audience');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE delivery_status AS ENUM ('pending', 'sent', 'delivered', 'failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- Read model of HostProfile. Extensions after performance_metrics; aggregate_version is the idempotence guard.
-- total_streams / total_viewers / total_sales stay at their defaults: the dashboard computes them from the
-- stream and purchase tables (other aggregates' events may arrive before the profile's own).
CREATE TABLE IF NOT EXISTS live_commerce_hosts (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL UNIQUE,
    vendor_id UUID,
    host_name VARCHAR(255) NOT NULL,
    bio TEXT,
    bio_bn TEXT,
    profile_image_url VARCHAR(500),
    specializations JSONB,
    languages JSONB NOT NULL,
    experience_level host_experience DEFAULT 'beginner',
    rating DECIMAL(3,2) DEFAULT 0,
    total_streams INTEGER DEFAULT 0,
    total_viewers INTEGER DEFAULT 0,
    total_sales DECIMAL(12,2) DEFAULT 0,
    verification_status verification_status DEFAULT 'pending',
    is_active BOOLEAN DEFAULT true,
    commission_rate DECIMAL(5,2) DEFAULT 5.00,
    performance_metrics JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    portfolio_links JSONB,
    sample_videos JSONB,
    rating_count INTEGER NOT NULL DEFAULT 0,
    rating_sum INTEGER NOT NULL DEFAULT 0,
    availability_status VARCHAR(20) NOT NULL DEFAULT 'offline',
    next_available TIMESTAMP,
    weekly_schedule JSONB,
    rejection_reason TEXT,
    suspension_reason TEXT,
    verified_at TIMESTAMP,
    updated_at TIMESTAMP,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_live_commerce_hosts_status ON live_commerce_hosts(verification_status, created_at);

-- One row per HostFollow aggregate (host, follower).
CREATE TABLE IF NOT EXISTS live_commerce_host_followers (
    id UUID PRIMARY KEY,
    host_id UUID NOT NULL,
    host_user_id UUID NOT NULL,
    follower_id UUID NOT NULL,
    following BOOLEAN NOT NULL DEFAULT true,
    followed_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_host_followers_host_user ON live_commerce_host_followers(host_user_id) WHERE following;
CREATE INDEX IF NOT EXISTS idx_host_followers_host ON live_commerce_host_followers(host_id) WHERE following;

-- The hosts read model's own copy of its hosts' streams (for HOST_STATUS), written in the same transaction.
CREATE TABLE IF NOT EXISTS live_commerce_host_streams (
    stream_id UUID PRIMARY KEY,
    host_user_id UUID NOT NULL,
    status stream_status NOT NULL DEFAULT 'scheduled',
    scheduled_start_time TIMESTAMP,
    started_at TIMESTAMP,
    ended_at TIMESTAMP,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_host_streams_host ON live_commerce_host_streams(host_user_id, status);

-- A counter per host, raised with every change that touches HOST_STATUS: the Redis write's version guard.
CREATE TABLE IF NOT EXISTS live_commerce_host_status_seq (
    host_user_id UUID PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT 0
);

-- Read model of StreamModerators (spec §2.1), with the aggregate's version kept per stream.
CREATE TABLE IF NOT EXISTS live_stream_moderators (
    id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    moderator_id UUID NOT NULL,
    permissions JSONB NOT NULL,
    assigned_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (stream_id, moderator_id)
);
CREATE TABLE IF NOT EXISTS live_stream_moderator_versions (
    aggregate_id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    aggregate_version INTEGER NOT NULL
);

-- Notifications process manager. Jobs come from events (ids derived from the event's subject, so a redelivered
-- event adds nothing) and wait in PostgreSQL until due, so reminders survive restarts.
CREATE TABLE IF NOT EXISTS notification_streams (
    stream_id UUID PRIMARY KEY,
    host_user_id UUID,
    title VARCHAR(255) NOT NULL,
    title_bn VARCHAR(255),
    status stream_status NOT NULL DEFAULT 'scheduled',
    scheduled_start_time TIMESTAMPTZ,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS notification_jobs (
    id UUID PRIMARY KEY,
    kind notification_type NOT NULL,
    stream_id UUID NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',  -- pending, done, cancelled, expired
    payload JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_notification_jobs_due ON notification_jobs(due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_notification_jobs_stream ON notification_jobs(stream_id) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS live_stream_notifications (
    id UUID PRIMARY KEY,
    stream_id UUID NOT NULL,
    notification_type notification_type NOT NULL,
    recipient_type recipient_type NOT NULL,
    recipients JSONB,
    title VARCHAR(255) NOT NULL,
    message TEXT NOT NULL,
    sent_at TIMESTAMP,
    delivery_status delivery_status DEFAULT 'pending',
    metadata JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    title_bn VARCHAR(255),
    message_bn TEXT
);
CREATE INDEX IF NOT EXISTS idx_live_stream_notifications_stream ON live_stream_notifications(stream_id);

CREATE TABLE IF NOT EXISTS live_stream_notification_deliveries (
    notification_id UUID NOT NULL REFERENCES live_stream_notifications(id) ON DELETE CASCADE,
    recipient_id UUID NOT NULL,
    channel VARCHAR(20) NOT NULL,
    status delivery_status NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (notification_id, recipient_id, channel)
);
CREATE INDEX IF NOT EXISTS idx_notification_deliveries_pending ON live_stream_notification_deliveries(created_at)
    WHERE status = 'pending';
