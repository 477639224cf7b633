-- A cart takes the customer's email, shipping address and shipping option before
-- checkout, so that it can show shipping and tax (contract: PATCH /v1/carts/{id}).
ALTER TABLE carts ADD COLUMN email TEXT;
ALTER TABLE carts ADD COLUMN shipping_address TEXT; -- JSON
ALTER TABLE carts ADD COLUMN shipping_option_id TEXT;

-- Shipping priced by weight weighs the cart's variants; tax follows the product's class.
ALTER TABLE variants ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0
    CONSTRAINT variants_weight_check CHECK (weight_grams >= 0);
ALTER TABLE products ADD COLUMN tax_class TEXT NOT NULL DEFAULT 'standard';

-- An order keeps the breakdown its cart showed at checkout. Orders placed before this
-- had no shipping, tax or discounts, which the defaults say.
ALTER TABLE orders ADD COLUMN shipping_option TEXT; -- JSON {id, name, amount}
ALTER TABLE orders ADD COLUMN tax_lines TEXT NOT NULL DEFAULT '[]'; -- JSON [{name, rate_bps, amount}]
ALTER TABLE orders ADD COLUMN prices_include_tax BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE order_items ADD COLUMN discount_total_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_items ADD COLUMN tax_total_amount BIGINT NOT NULL DEFAULT 0;
