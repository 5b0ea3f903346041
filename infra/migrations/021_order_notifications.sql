-- Buyers hear about their own orders (fulfilment steps, return decisions): `livecommerce notify` keeps who
-- bought each order (from Order.Placed) and plans one 'order_update' job per step or decision.
ALTER TYPE notification_type ADD VALUE IF NOT EXISTS 'order_update';
CREATE TABLE IF NOT EXISTS notification_orders (
    order_id UUID PRIMARY KEY,
    buyer_id UUID NOT NULL,
    stream_id UUID
);
