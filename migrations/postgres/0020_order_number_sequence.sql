-- Order numbers on PostgreSQL come from a sequence instead of the `counters` row. The row
-- was locked from an order's number to its transaction's commit, so every checkout's
-- settlement waited for the one before it to commit; a sequence hands out numbers without
-- a lock. The price: a settlement that rolls back leaves a gap in the numbers. SQLite runs
-- one writer at a time anyway and keeps the counter (gapless).
-- dialect-specific: begin
CREATE SEQUENCE order_numbers;
SELECT setval('order_numbers', GREATEST(value, 1), value > 0) FROM counters WHERE name = 'order_number';
-- dialect-specific: end
