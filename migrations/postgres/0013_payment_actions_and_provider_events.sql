-- Payments with Stripe: an attempt can wait for the customer (3-D Secure, status
-- `requires_action`), be authorized for a capture at fulfilment (`authorized`), or be
-- canceled; it remembers its provider, its capture method and the client secret the
-- customer's browser needs; refunds keep the provider's id.
-- dialect-specific: begin
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'requires_action', 'authorized', 'captured', 'failed',
                      'canceled', 'partially_refunded', 'refunded'));
ALTER TABLE payments ADD COLUMN provider TEXT NOT NULL DEFAULT 'test';
ALTER TABLE payments ADD COLUMN capture_method TEXT NOT NULL DEFAULT 'automatic';
ALTER TABLE payments ADD COLUMN client_secret TEXT;
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
