-- Events carry what they are about (contract: Events and webhooks): the id of their
-- subject (an order, a product, a customer, a variant) and a snapshot of it as the API
-- shows it, written in the transaction that made the change. Events written before this
-- migration keep an empty snapshot.
ALTER TABLE events ADD COLUMN subject_id TEXT;
ALTER TABLE events ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
UPDATE events SET subject_id = order_id;
CREATE INDEX events_by_type ON events (type, id);
-- Live streams resume after the last event their client saw, in the order events committed.
-- dialect-specific: begin
-- SQLite has one writer, so events are numbered in the order they commit. (Not by rowid,
-- which VACUUM may change.)
ALTER TABLE events ADD COLUMN seq BIGINT;
UPDATE events SET seq = rowid;
CREATE UNIQUE INDEX events_position ON events (seq);
-- dialect-specific: end

-- inventory.low fires when a variant's available units fall to this many.
ALTER TABLE shop_settings ADD COLUMN low_stock_threshold BIGINT NOT NULL DEFAULT 5;

-- Merchant webhooks. The secret signs every delivery (HMAC), so it is kept as given out.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL,
    event_types     TEXT NOT NULL, -- JSON array of event types, or ["*"]
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,          -- why Backroom disabled it (410, or 3 days of failures)
    failing_since   BIGINT,        -- the first failure since its last success
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- One event for one endpoint, written with the event. While pending, next_attempt_at is
-- when it is due. A worker that claims it sets leased_until and moves next_attempt_at
-- there, so that a worker that dies mid-delivery leaves it to another once the lease is
-- over; an endpoint with a delivery under lease gets no other meanwhile.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL, -- pending, succeeded, failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    response_status BIGINT,
    next_attempt_at BIGINT,
    leased_until    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_of_event ON webhook_deliveries (event_id);

-- Every attempt of a delivery, for the delivery log.
CREATE TABLE webhook_attempts (
    id              TEXT PRIMARY KEY,
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    started_at      BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    response_status BIGINT,
    response_body   TEXT NOT NULL, -- the start of it
    error           TEXT
);
CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id, started_at);
