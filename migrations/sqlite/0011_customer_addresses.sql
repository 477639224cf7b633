-- A customer's saved addresses (contract: Catalog depth, /v1/me/addresses), offered at
-- checkout. `address` is the JSON of an address as carts and orders store it.
CREATE TABLE customer_addresses (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    address     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX customer_addresses_by_customer ON customer_addresses (customer_id, id);
