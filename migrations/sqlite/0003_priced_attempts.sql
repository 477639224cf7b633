-- A payment attempt keeps the priced cart the customer saw at checkout (JSON of
-- `domain::pricing::PricedCart`): the order is made from it, so its lines and totals are
-- the cart's by construction, and the capture is exactly its total. Attempts made before
-- this column have NULL here; their order is priced from their lines, as it was then.
ALTER TABLE payments ADD COLUMN pricing TEXT;
