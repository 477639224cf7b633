-- The search index answers a plain search by itself (store::search): each entry carries
-- its product's id and status, unindexed, so that matches are ranked and cut to their page
-- before anything is joined; and type-ahead finds words by their first two or three
-- letters in an index of its own instead of scanning. PostgreSQL's index needs neither.
-- dialect-specific: begin
-- An FTS5 table cannot gain columns: it is made anew and filled from the products.
DROP TABLE product_search;
CREATE VIRTUAL TABLE product_search USING fts5(
    product_id UNINDEXED, status UNINDEXED, title, skus, categories, description,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO product_search_ids (product_id)
SELECT id FROM products WHERE id NOT IN (SELECT product_id FROM product_search_ids) ORDER BY id;
INSERT INTO product_search (rowid, product_id, status, title, skus, categories, description)
SELECT i.rowid, p.id, p.status, p.title,
       COALESCE((SELECT group_concat(v.sku, ' ') FROM variants v WHERE v.product_id = p.id), ''),
       COALESCE((SELECT group_concat(c.name, ' ') FROM product_categories pc JOIN categories c ON c.id = pc.category_id
                 WHERE pc.product_id = p.id), ''),
       p.description
FROM products p JOIN product_search_ids i ON i.product_id = p.id;
-- dialect-specific: end
