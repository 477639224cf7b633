-- The price of each cart line as the customer last saw it: set whenever the cart changes
-- (every change answers with the whole cart), compared at checkout, where a price that
-- changed since is refused once with 409 `price_changed` naming the lines. NULL for lines
-- added before this column: they are charged at the current price, as they were.
ALTER TABLE cart_items ADD COLUMN seen_price_amount BIGINT;
