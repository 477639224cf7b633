-- Payments with Stripe: an attempt can wait for the customer (3-D Secure, status
-- `requires_action`), be authorized for a capture at fulfilment (`authorized`), or be
-- canceled; it remembers its provider, its capture method and the client secret the
-- customer's browser needs; refunds keep the provider's id.
-- dialect-specific: begin
-- SQLite cannot change a CHECK constraint: the table is rebuilt. Foreign keys from
-- payment_lines, refunds and orders are deferred to the commit, by when
-- every row they point at is back.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE payments_before_0013 AS SELECT * FROM payments;
DROP TABLE payments;
CREATE TABLE payments (
    id                 TEXT PRIMARY KEY,
    cart_id            TEXT NOT NULL REFERENCES carts (id),
    customer_id        TEXT REFERENCES customers (id),
    email              TEXT NOT NULL,
    currency           TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    refunded_amount    BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CONSTRAINT payments_status_check
                       CHECK (status IN ('pending', 'requires_action', 'authorized', 'captured', 'failed',
                                         'canceled', 'partially_refunded', 'refunded')),
    payment_token      TEXT NOT NULL,
    decline_code       TEXT,
    provider_reference TEXT,
    shipping_address   TEXT NOT NULL, -- JSON
    idempotency_key    TEXT,
    guest_token_hash   TEXT,
    order_id           TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    pricing            TEXT,
    provider           TEXT NOT NULL DEFAULT 'test',
    capture_method     TEXT NOT NULL DEFAULT 'automatic',
    client_secret      TEXT,
    CONSTRAINT payments_refund_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
INSERT INTO payments (id, cart_id, customer_id, email, currency, amount, refunded_amount, status, payment_token,
                      decline_code, provider_reference, shipping_address, idempotency_key, guest_token_hash,
                      order_id, created_at, updated_at, expires_at, pricing)
SELECT id, cart_id, customer_id, email, currency, amount, refunded_amount, status, payment_token,
       decline_code, provider_reference, shipping_address, idempotency_key, guest_token_hash,
       order_id, created_at, updated_at, expires_at, pricing
FROM payments_before_0013;
DROP TABLE payments_before_0013;
CREATE INDEX payments_status_expires ON payments (status, expires_at);
CREATE INDEX payments_cart ON payments (cart_id);
CREATE INDEX payments_provider_reference ON payments (provider_reference);
-- dialect-specific: end
ALTER TABLE refunds ADD COLUMN provider_reference TEXT;

-- Every event a provider sent, by its id: a redelivered event changes nothing.
CREATE TABLE provider_events (
    id          TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    type        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
