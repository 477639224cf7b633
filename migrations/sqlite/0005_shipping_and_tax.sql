-- Shipping options and tax rates (contract: The shop, currencies, shipping and tax).
-- Orders keep their own copy of what they were charged, so both may be edited or deleted.
CREATE TABLE shipping_options (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    countries  TEXT NOT NULL, -- JSON array of ISO 3166-1 alpha-2 codes; empty: every country
    rate       TEXT NOT NULL, -- JSON: {"type": "flat", "amount"} or {"type": "weight", "tiers"}
    free_over  BIGINT CONSTRAINT shipping_options_free_over_check CHECK (free_over >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE tax_rates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    country    TEXT NOT NULL,
    region     TEXT, -- ISO 3166-2 (US-CA): wins over the country's rate there
    tax_class  TEXT NOT NULL,
    rate_bps   BIGINT NOT NULL CONSTRAINT tax_rates_rate_check CHECK (rate_bps BETWEEN 0 AND 10000),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tax_rates_country ON tax_rates (country, tax_class);
