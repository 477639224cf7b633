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
-- FTS5 finds a document by its integer rowid; this gives each product a stable one
-- (an INTEGER PRIMARY KEY survives VACUUM, a table's implicit rowid may not).
CREATE TABLE product_search_ids (
    rowid      INTEGER PRIMARY KEY,
    product_id TEXT NOT NULL CONSTRAINT product_search_ids_product_key UNIQUE
);
CREATE VIRTUAL TABLE product_search USING fts5(
    title, skus, categories, description,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO product_search_ids (product_id) SELECT id FROM products ORDER BY id;
INSERT INTO product_search (rowid, title, skus, categories, description)
SELECT i.rowid, p.title,
       COALESCE((SELECT group_concat(v.sku, ' ') FROM variants v WHERE v.product_id = p.id), ''),
       COALESCE((SELECT group_concat(c.name, ' ') FROM product_categories pc JOIN categories c ON c.id = pc.category_id
                 WHERE pc.product_id = p.id), ''),
       p.description
FROM products p JOIN product_search_ids i ON i.product_id = p.id;
CREATE TABLE search_terms (term TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE temp.product_search_words USING fts5vocab(main, product_search, 'row');
INSERT INTO search_terms (term)
SELECT term FROM temp.product_search_words WHERE length(term) BETWEEN 3 AND 40;
DROP TABLE temp.product_search_words;
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
