-- The staff dashboard reads a day's orders by creation time.
CREATE INDEX orders_created_at ON orders (created_at);
