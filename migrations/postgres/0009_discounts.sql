-- Discounts (contract: Discounts). `code_key` is the code lower-cased, so that codes match
-- case-insensitively and stay unique; NULL for automatic discounts. Product and category
-- limits are JSON arrays of ids (empty: every line). `times_used` counts the uses taken by
-- checkouts not given back: a checkout takes one with a conditional write
-- (`times_used < usage_limit`), so the check below can never fire from Backroom itself.
CREATE TABLE discounts (
    id                       TEXT PRIMARY KEY,
    code                     TEXT,
    code_key                 TEXT CONSTRAINT discounts_code_key_key UNIQUE,
    description              TEXT NOT NULL,
    kind                     TEXT NOT NULL CONSTRAINT discounts_kind_check
                                 CHECK (kind IN ('percentage', 'fixed_amount', 'free_shipping')),
    percentage_bps           BIGINT,
    amount                   BIGINT,
    currency                 TEXT,
    min_subtotal             BIGINT,
    starts_at                BIGINT,
    ends_at                  BIGINT,
    usage_limit              BIGINT,
    usage_limit_per_customer BIGINT,
    product_ids              TEXT NOT NULL,
    category_ids             TEXT NOT NULL,
    combinable               BOOLEAN NOT NULL,
    active                   BOOLEAN NOT NULL,
    times_used               BIGINT NOT NULL DEFAULT 0,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    CONSTRAINT discounts_usage_check CHECK (times_used >= 0 AND (usage_limit IS NULL OR times_used <= usage_limit))
);

-- The codes a customer applied to a cart.
CREATE TABLE cart_discounts (
    cart_id     TEXT NOT NULL REFERENCES carts (id),
    discount_id TEXT NOT NULL REFERENCES discounts (id),
    added_at    BIGINT NOT NULL,
    CONSTRAINT cart_discounts_pkey PRIMARY KEY (cart_id, discount_id)
);

-- One row per use a checkout took: held by its payment attempt, kept by the order it made,
-- deleted (and `times_used` given back) when the attempt fails. `customer_key` is the
-- customer's id, or a guest's lower-cased email, for per-customer limits.
CREATE TABLE discount_uses (
    discount_id  TEXT NOT NULL REFERENCES discounts (id),
    payment_id   TEXT NOT NULL,
    order_id     TEXT,
    customer_key TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    CONSTRAINT discount_uses_pkey PRIMARY KEY (discount_id, payment_id)
);
CREATE INDEX discount_uses_customer ON discount_uses (discount_id, customer_key);
CREATE INDEX discount_uses_payment ON discount_uses (payment_id);

-- An order keeps the discounts its cart showed: JSON [{discount_id, code, description, amount}].
ALTER TABLE orders ADD COLUMN discounts TEXT NOT NULL DEFAULT '[]';
