-- Reference catalogue of vendors and products (spec §2.1 references vendors(id) and products(id), which belong to
-- the catalogue service). Filled by `livecommerce catalog import`; upserted by id, so an import can be re-run.
CREATE TABLE IF NOT EXISTS vendors (
    id UUID PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    name_bn VARCHAR(255),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS products (
    id UUID PRIMARY KEY,
    vendor_id UUID NOT NULL REFERENCES vendors(id),
    name VARCHAR(255) NOT NULL,
    name_bn VARCHAR(255),
    list_price DECIMAL(10,2) NOT NULL CHECK (list_price >= 0),
    stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    images JSONB NOT NULL DEFAULT '[]'::jsonb,
    category VARCHAR(100),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_products_vendor ON products(vendor_id);
CREATE INDEX IF NOT EXISTS idx_products_category ON products(category);
