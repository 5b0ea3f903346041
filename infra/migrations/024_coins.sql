-- Coins and virtual gifts (issue 14 part 3), built from CoinWallet and GiftCatalogue events.
CREATE TABLE IF NOT EXISTS coin_wallets (
    id UUID PRIMARY KEY,                -- the wallet (uuid5 of the user)
    user_id UUID NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    coins_bought BIGINT NOT NULL DEFAULT 0,
    coins_spent BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_coin_wallets_user ON coin_wallets(user_id);

-- The wallet's history: one row per top-up (its latest state) and one per gift sent.
CREATE TABLE IF NOT EXISTS coin_wallet_entries (
    wallet_id UUID NOT NULL,
    entry_id TEXT NOT NULL,             -- the top-up id or the send id
    kind TEXT NOT NULL,                 -- top_up | gift
    status TEXT NOT NULL,               -- top-ups: requested, processing, credited, failed; gifts: sent
    coins BIGINT NOT NULL,              -- + bought, - spent
    balance BIGINT,                     -- the balance right after (credited top-ups and gifts)
    amount DECIMAL(12,2),               -- taka paid (top-ups)
    payment_method TEXT,
    stream_id UUID,
    gift_id TEXT,
    quantity INTEGER,
    message TEXT,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    aggregate_version INTEGER NOT NULL,
    PRIMARY KEY (wallet_id, entry_id)
);
CREATE INDEX IF NOT EXISTS idx_coin_entries_recent ON coin_wallet_entries(wallet_id, created_at DESC);

-- What hosts earned from gifts (one row per gift send), for the host dashboard's earnings.
CREATE TABLE IF NOT EXISTS host_gift_earnings (
    send_id TEXT PRIMARY KEY,
    host_id UUID NOT NULL,
    stream_id UUID NOT NULL,
    sender_id UUID NOT NULL,
    gift_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    coins BIGINT NOT NULL,
    host_amount DECIMAL(12,2) NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_host_gift_earnings ON host_gift_earnings(host_id, occurred_at);

-- The gift catalogue: its version (read-your-writes) and the gifts on offer.
CREATE TABLE IF NOT EXISTS gift_catalogue (
    id UUID PRIMARY KEY,
    aggregate_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS gifts (
    gift_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_bn TEXT NOT NULL,
    coins INTEGER NOT NULL,
    animation_key TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMP NOT NULL
);
