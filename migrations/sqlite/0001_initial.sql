-- Backroom schema, version 1. The SQLite and PostgreSQL migrations differ only in the
-- type of raw bytes (BLOB / BYTEA); keep them in step.
--
-- Times are Unix microseconds (BIGINT): sqlx writes SQLite timestamps as RFC 3339 text
-- with a variable fraction, which sorts wrong; integers sort and compare the same on both.
-- Money is BIGINT minor units beside a currency column. Ids are prefixed UUIDv7 text, so
-- ordering by id is ordering by creation. Constraint names are explicit so that errors can
-- be mapped by name (see store::StoreError).

CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL CONSTRAINT customers_email_key UNIQUE, -- stored lower-cased
    name          TEXT,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL CONSTRAINT staff_email_key UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL CONSTRAINT staff_role_check CHECK (role IN ('admin', 'staff')),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Only a SHA-256 of each token is kept: a leaked table gives no usable session.
-- A session ends at expires_at (absolute) or after idle_seconds without use.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    customer_id  TEXT REFERENCES customers (id),
    staff_id     TEXT REFERENCES staff (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_seconds BIGINT NOT NULL,
    CONSTRAINT sessions_one_principal CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX sessions_customer ON sessions (customer_id);
CREATE INDEX sessions_staff ON sessions (staff_id);

-- Server-to-server keys: only a SHA-256 of the key is kept; scopes are comma-separated
-- permissions (catalog, inventory, orders).
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    key_hash     TEXT NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Every staff and API-key action: who, what, when, from where.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    actor_id   TEXT NOT NULL,
    actor_kind TEXT NOT NULL, -- staff or api_key
    action     TEXT NOT NULL, -- method and route, such as "POST /v1/admin/products"
    target     TEXT NOT NULL, -- the path requested
    status     BIGINT NOT NULL,
    client_ip  TEXT NOT NULL,
    request_id TEXT,
    created_at BIGINT NOT NULL
);

-- Password reset tokens: single use, 30 minutes, stored as SHA-256 like sessions.
CREATE TABLE password_resets (
    token_hash   TEXT PRIMARY KEY,
    account_kind TEXT NOT NULL CONSTRAINT password_resets_kind_check CHECK (account_kind IN ('customer', 'staff')),
    account_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

-- The outbox: side effects outside the database (emails now, webhooks later), written in
-- the transaction that decided them and delivered by the background job with retries.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL, -- email
    payload         TEXT NOT NULL, -- JSON
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);

-- Failed logins of the last minutes, for the login throttle. In the database so that the
-- limit holds across every process sharing it.
CREATE TABLE login_failures (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    client_ip  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, created_at);
CREATE INDEX login_failures_client ON login_failures (client_ip, created_at);

CREATE TABLE categories (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL CONSTRAINT categories_slug_key UNIQUE,
    parent_id  TEXT REFERENCES categories (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL CONSTRAINT products_slug_key UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CONSTRAINT products_status_check CHECK (status IN ('draft', 'published', 'archived')),
    images      TEXT NOT NULL DEFAULT '[]', -- JSON array of URLs
    -- Title and description lower-cased by Backroom (Unicode-aware, unlike SQLite's LOWER),
    -- so that search matches the same on both databases.
    search_text TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX products_status_id ON products (status, id);

CREATE TABLE product_categories (
    product_id  TEXT NOT NULL REFERENCES products (id),
    category_id TEXT NOT NULL REFERENCES categories (id),
    PRIMARY KEY (product_id, category_id)
);
CREATE INDEX product_categories_category ON product_categories (category_id, product_id);

-- Invariant 1 of design.md lives here as well as in the conditional updates:
-- 0 <= reserved <= on_hand, whatever a query does.
CREATE TABLE variants (
    id           TEXT PRIMARY KEY,
    product_id   TEXT NOT NULL REFERENCES products (id),
    sku          TEXT NOT NULL CONSTRAINT variants_sku_key UNIQUE,
    title        TEXT NOT NULL,
    price_amount BIGINT NOT NULL CONSTRAINT variants_price_check CHECK (price_amount >= 0),
    currency     TEXT NOT NULL,
    options      TEXT NOT NULL DEFAULT '{}', -- JSON object of option name to value
    on_hand      BIGINT NOT NULL DEFAULT 0,
    reserved     BIGINT NOT NULL DEFAULT 0,
    position     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT variants_stock_check CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE INDEX variants_product ON variants (product_id, position);

-- The stock ledger: every staff adjustment, with who and why.
CREATE TABLE inventory_adjustments (
    id         TEXT PRIMARY KEY,
    variant_id TEXT NOT NULL REFERENCES variants (id),
    delta      BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    staff_id   TEXT REFERENCES staff (id),
    created_at BIGINT NOT NULL
);

-- status: open (editable), checking_out (a payment attempt holds its lines), checked_out.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY,
    customer_id TEXT REFERENCES customers (id),
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CONSTRAINT carts_status_check CHECK (status IN ('open', 'checking_out', 'checked_out')),
    version     BIGINT NOT NULL,
    order_id    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE cart_items (
    id         TEXT PRIMARY KEY,
    cart_id    TEXT NOT NULL REFERENCES carts (id),
    variant_id TEXT NOT NULL REFERENCES variants (id),
    quantity   BIGINT NOT NULL CONSTRAINT cart_items_quantity_check CHECK (quantity BETWEEN 1 AND 999),
    created_at BIGINT NOT NULL,
    CONSTRAINT cart_items_cart_variant_key UNIQUE (cart_id, variant_id)
);

-- A payment attempt: written `pending` with its reserved lines before the provider is
-- called, so that a crash between the call and the outcome can be reconciled.
CREATE TABLE payments (
    id                 TEXT PRIMARY KEY,
    cart_id            TEXT NOT NULL REFERENCES carts (id),
    customer_id        TEXT REFERENCES customers (id),
    email              TEXT NOT NULL,
    currency           TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    refunded_amount    BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CONSTRAINT payments_status_check
                       CHECK (status IN ('pending', 'captured', 'failed', 'partially_refunded', 'refunded')),
    payment_token      TEXT NOT NULL,
    decline_code       TEXT,
    provider_reference TEXT,
    shipping_address   TEXT NOT NULL, -- JSON
    idempotency_key    TEXT,
    guest_token_hash   TEXT, -- for a guest checkout: copied to the order it makes
    order_id           TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL, -- when a still-pending attempt's reservation lapses
    CONSTRAINT payments_refund_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE INDEX payments_status_expires ON payments (status, expires_at);
CREATE INDEX payments_cart ON payments (cart_id);

CREATE TABLE payment_lines (
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    position          BIGINT NOT NULL,
    variant_id        TEXT NOT NULL REFERENCES variants (id),
    sku               TEXT NOT NULL,
    title             TEXT NOT NULL,
    quantity          BIGINT NOT NULL,
    unit_price_amount BIGINT NOT NULL,
    PRIMARY KEY (payment_id, position)
);

CREATE TABLE refunds (
    id         TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount     BIGINT NOT NULL CONSTRAINT refunds_amount_check CHECK (amount > 0),
    status     TEXT NOT NULL CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE orders (
    id                    TEXT PRIMARY KEY,
    number                BIGINT NOT NULL CONSTRAINT orders_number_key UNIQUE,
    customer_id           TEXT REFERENCES customers (id),
    email                 TEXT NOT NULL,
    status                TEXT NOT NULL CONSTRAINT orders_status_check CHECK (status IN ('paid', 'fulfilled', 'canceled')),
    currency              TEXT NOT NULL,
    subtotal_amount       BIGINT NOT NULL,
    discount_total_amount BIGINT NOT NULL,
    shipping_total_amount BIGINT NOT NULL,
    tax_total_amount      BIGINT NOT NULL,
    total_amount          BIGINT NOT NULL,
    payment_id            TEXT NOT NULL CONSTRAINT orders_payment_key UNIQUE REFERENCES payments (id),
    shipping_address      TEXT NOT NULL, -- JSON
    tracking_number       TEXT,
    guest_token_hash      TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_status ON orders (status, id);

CREATE TABLE order_items (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders (id),
    position          BIGINT NOT NULL,
    variant_id        TEXT NOT NULL REFERENCES variants (id),
    sku               TEXT NOT NULL,
    title             TEXT NOT NULL,
    quantity          BIGINT NOT NULL,
    unit_price_amount BIGINT NOT NULL,
    line_total_amount BIGINT NOT NULL
);
CREATE INDEX order_items_order ON order_items (order_id, position);

-- The outbox of domain events: written in the transaction that made the change.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    order_id    TEXT,
    customer_id TEXT,
    created_at  BIGINT NOT NULL
);

-- Named counters taken with one UPDATE ... RETURNING: a portable sequence.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('order_number', 1000);

-- Idempotency records (contract: Conventions). The key belongs to a caller scope.
CREATE TABLE idempotency_keys (
    scope                 TEXT NOT NULL,
    key                   TEXT NOT NULL,
    method                TEXT NOT NULL,
    target                TEXT NOT NULL,
    request_hash          TEXT NOT NULL,
    response_status       BIGINT, -- NULL while the first request is in progress
    response_content_type TEXT,
    response_body         BLOB,
    created_at            BIGINT NOT NULL,
    started_at            BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- The built-in test payment provider's own ledger: what an outside provider would hold.
-- Keyed by the idempotency key Backroom sends, so a repeated call cannot charge twice.
CREATE TABLE test_provider_charges (
    idempotency_key TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    payment_token   TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    decline_code    TEXT,
    created_at      BIGINT NOT NULL
);
