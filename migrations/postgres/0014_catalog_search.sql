-- Full-text search of the catalog: titles, SKUs, category names and descriptions, each
-- database with its own index behind one store function (store::search). Beside it, the
-- catalog's words (search_terms) and each word with one letter left out
-- (search_term_deletions): a word and a misspelling of it one edit apart always share one
-- of those, so the words a misspelt one may mean are found by an index lookup, the same on
-- both databases. (pg_trgm's trigram similarity was tried for this and misses transposed
-- letters in short words: "shrit" shares 2 of the 10 trigrams of "shirt".)
-- All are kept current by the transaction that changes a product; this migration fills
-- them for the products there are.
-- dialect-specific: begin
ALTER TABLE products ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector;
-- Words split at anything but letters and digits, as Backroom splits them (the parser
-- alone reads the "-1" of "PLATE-1" as a negative number).
UPDATE products p SET search_vector =
    setweight(to_tsvector('simple', regexp_replace(p.title, '[^[:alnum:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('simple', regexp_replace(COALESCE((SELECT string_agg(v.sku, ' ') FROM variants v
                                                                WHERE v.product_id = p.id), ''), '[^[:alnum:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('simple', regexp_replace(COALESCE((SELECT string_agg(c.name, ' ') FROM product_categories pc
                                                JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), ''),
                                                      '[^[:alnum:]]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('simple', regexp_replace(p.description, '[^[:alnum:]]+', ' ', 'g')), 'D');
CREATE INDEX products_search ON products USING GIN (search_vector);
CREATE TABLE search_terms (term TEXT PRIMARY KEY);
INSERT INTO search_terms (term)
SELECT word FROM ts_stat('SELECT search_vector FROM products') WHERE length(word) BETWEEN 3 AND 40;
-- dialect-specific: end
CREATE TABLE search_term_deletions (
    deletion TEXT NOT NULL,
    term     TEXT NOT NULL,
    PRIMARY KEY (deletion, term)
);
WITH RECURSIVE positions (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM positions WHERE n < 40)
INSERT INTO search_term_deletions (deletion, term)
SELECT substr(t.term, 1, p.n - 1) || substr(t.term, p.n + 1), t.term
FROM search_terms t JOIN positions p ON p.n <= length(t.term)
UNION
SELECT term, term FROM search_terms;
