-- A variant's prices in currencies other than its own (contract: Currencies). Its own
-- price stays in variants (price_amount, currency), so v1 rows need no copying and a
-- variant always has the price it was created with; this table holds the others, one per
-- currency. A cart in currency C prices a line at the variant's own price when C is its
-- currency, else at its row here; no row: the variant is not sold in C.
CREATE TABLE variant_prices (
    variant_id TEXT NOT NULL REFERENCES variants (id),
    currency   TEXT NOT NULL,
    amount     BIGINT NOT NULL CONSTRAINT variant_prices_amount_check CHECK (amount >= 0),
    CONSTRAINT variant_prices_pkey PRIMARY KEY (variant_id, currency)
);
