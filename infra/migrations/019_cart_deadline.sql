-- A live cart's deadline (issue 13, journey 4): an abandoned cart gives its units back at expires_at (moved by
-- every add; null while it holds nothing). Shown by GET /cart; the process managers find it in due_work.
ALTER TABLE carts ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP;
