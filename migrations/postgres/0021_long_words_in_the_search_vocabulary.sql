-- The catalog's vocabulary (search_terms, migration 0014) now keeps words longer than 40
-- letters too, without their one-letter deletions (typos are not looked up for them): a
-- search on SQLite spells out the words a prefix starts instead of asking FTS5 for the
-- prefix (store::search::completions), and must know every one. This adds the long words
-- the index holds already, and the whole word as its own lookup key, as for every word.
-- dialect-specific: begin
INSERT INTO search_terms (term)
SELECT word FROM ts_stat('SELECT search_vector FROM products') WHERE length(word) > 40
ON CONFLICT (term) DO NOTHING;
-- dialect-specific: end
INSERT INTO search_term_deletions (deletion, term)
SELECT term, term FROM search_terms WHERE length(term) > 40
ON CONFLICT (deletion, term) DO NOTHING;
