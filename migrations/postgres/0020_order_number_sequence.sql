-- Order numbers on PostgreSQL come from a sequence instead of the `counters` row. The row
-- was locked from an order's number to its transaction's commit, so every checkout's
-- settlement waited for the one before it to commit; a sequence hands out numbers without
-- a lock. The price: a settlement that rolls back leaves a gap in the numbers. SQLite runs
-- one writer at a time anyway and keeps the counter (gapless).
--
-- A process of the previous release still takes its numbers from the row (during a rolling
-- upgrade, or after a rollback): a trigger has that update draw from the sequence too, so
-- both kinds of process never hand out one number twice.
-- dialect-specific: begin
CREATE SEQUENCE order_numbers;
SELECT setval('order_numbers', GREATEST(value, 1), value > 0) FROM counters WHERE name = 'order_number';

CREATE FUNCTION order_number_from_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name = 'order_number' THEN
        NEW.value := nextval('order_numbers');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER order_number_from_sequence BEFORE UPDATE ON counters
    FOR EACH ROW EXECUTE FUNCTION order_number_from_sequence();
-- dialect-specific: end
