-- Stream stock (issue 13, journey 2): live_stream_products.sold_quantity follows the StreamStock aggregate of
-- each stream product; stock_version is that aggregate's version the row reflects (the projection's guard: a
-- redelivered or older stock event changes nothing).
ALTER TABLE live_stream_products ADD COLUMN IF NOT EXISTS stock_version INTEGER NOT NULL DEFAULT 0;
