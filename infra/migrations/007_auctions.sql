-- Auctions as viewers and hosts see them (built from Auction events; bidders' maxima stay in the store).
CREATE TABLE IF NOT EXISTS auctions (
    id UUID PRIMARY KEY,
    stream_id UUID,
    product_id UUID NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    starting_price DECIMAL(12,2) NOT NULL,
    current_price DECIMAL(12,2),
    leader_id UUID,
    bid_count INTEGER NOT NULL DEFAULT 0,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    winner_id UUID,
    winning_price DECIMAL(12,2),
    pay_by TIMESTAMP,
    order_id UUID,
    outcome TEXT,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_auctions_stream ON auctions(stream_id);
CREATE INDEX IF NOT EXISTS idx_auctions_due ON auctions(status, ends_at);
