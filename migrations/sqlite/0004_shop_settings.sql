-- The shop's settings (contract: The shop, currencies, shipping and tax): one row, made
-- here with what every shop had before (EUR only, prices without tax), so that an
-- upgraded shop behaves as it did until an admin changes them.
CREATE TABLE shop_settings (
    id                 BIGINT PRIMARY KEY CONSTRAINT shop_settings_one_row CHECK (id = 1),
    name               TEXT NOT NULL,
    default_currency   TEXT NOT NULL,
    currencies         TEXT NOT NULL, -- JSON array of ISO 4217 codes; holds the default
    prices_include_tax BOOLEAN NOT NULL,
    updated_at         BIGINT NOT NULL
);
INSERT INTO shop_settings (id, name, default_currency, currencies, prices_include_tax, updated_at)
VALUES (1, 'Backroom', 'EUR', '["EUR"]', FALSE, 0);
