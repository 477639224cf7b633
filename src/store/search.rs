//! Full-text search of the catalog, the one place where the two databases' text indexes
//! differ: SQLite's FTS5 table `product_search` (ranked with bm25) and PostgreSQL's
//! `products.search_vector` (a weighted tsvector with a GIN index, ranked with ts_rank).
//! Both rank title and SKU matches above category names, and those above descriptions.
//! The catalog's words and their one-letter deletions (for typos) are plain tables,
//! queried the same on both (see migration 0013).

use super::{Conn, Raw, StoreResult};
use crate::{exec, on_conn};

/// What a product is found by, as its rows say now.
#[derive(Debug, Clone, Default)]
pub struct SearchDocument {
    pub product_id: String,
    pub status: String,
    pub title: String,
    pub skus: String,
    pub categories: String,
    pub description: String,
}

/// One word of a search: the word (a prefix of the indexed word when `prefix`), or any of
/// the catalog's words it may be a misspelling of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchWord {
    pub word: String,
    pub prefix: bool,
    pub alternatives: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    /// Best match first (needs words).
    Relevance,
    Newest,
    /// By the product's lowest price in the listing's currency; unpriced last.
    PriceAscending,
    PriceDescending,
}

/// The products a search selects.
#[derive(Debug, Clone)]
pub struct SearchFilter<'a> {
    /// Every word must match (in any of the indexed fields).
    pub words: &'a [SearchWord],
    pub status: Option<&'a str>,
    pub category_id: Option<&'a str>,
    /// The listing's currency, which prices are filtered, sorted and summed up in.
    pub currency: &'a str,
    /// Inclusive bounds on any variant's price, in minor units of `currency`.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub order: SearchOrder,
}

/// The facets of every product a search selects.
#[derive(Debug, Clone, Default)]
pub struct SearchFacets {
    /// `(category id, products)`, most products first.
    pub categories: Vec<(String, i64)>,
    /// The lowest and highest variant price in the listing's currency.
    pub price: Option<(i64, i64)>,
}

/// How many of a search's matches a relevance ranking considers: its newest.
/// A search matching more lists these, best first; the others are reached by narrowing
/// the words, or with another sort (`newest`, a price), which lists every match.
pub const RANKED_MATCHES: i64 = 1_000;

/// A bound value of a query assembled here.
enum Param<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

/// A query's text and its values, numbered as they are pushed.
#[derive(Default)]
struct Sql<'a> {
    text: String,
    params: Vec<Param<'a>>,
}

impl<'a> Sql<'a> {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `param`.
    fn bind(&mut self, param: Param<'a>) -> &mut Self {
        self.params.push(param);
        self.text.push_str(&format!("${}", self.params.len()));
        self
    }
}

/// Runs an assembled query on either driver; `$fetch` is `fetch_all` and the like.
macro_rules! run {
    ($conn:expr, $sql:expr, $as:ident, $fetch:ident) => {{
        let sql = $sql;
        on_conn!($conn, |c| {
            let mut query = sqlx::$as(sqlx::AssertSqlSafe(sql.text.as_str()));
            for param in &sql.params {
                query = match param {
                    Param::Text(value) => query.bind(*value),
                    Param::Int(value) => query.bind(*value),
                };
            }
            query.$fetch(c).await
        })
    }};
}

/// The product's title, description, SKUs and category names as they are now.
pub async fn read_document(conn: &mut Conn, product_id: &str) -> StoreResult<Option<SearchDocument>> {
    let product: Option<(String, String, String)> = on_conn!(conn, |c| {
        sqlx::query_as("SELECT status, title, description FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_optional(c)
            .await
    })?;
    let Some((status, title, description)) = product else {
        return Ok(None);
    };
    let skus: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT sku FROM variants WHERE product_id = $1 ORDER BY position")
            .bind(product_id)
            .fetch_all(c)
            .await
    })?;
    let categories: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT c.name FROM product_categories pc JOIN categories c ON c.id = pc.category_id
             WHERE pc.product_id = $1 ORDER BY c.name",
        )
        .bind(product_id)
        .fetch_all(c)
        .await
    })?;
    Ok(Some(SearchDocument {
        product_id: product_id.to_owned(),
        status,
        title,
        skus: skus.join(" "),
        categories: categories.join(" "),
        description,
    }))
}

/// Writes a product's document into the database's text index, replacing what was there.
pub async fn index_document(conn: &mut Conn, document: &SearchDocument) -> StoreResult<()> {
    match conn.raw() {
        Raw::Sqlite(c) => {
            sqlx::query("INSERT INTO product_search_ids (product_id) VALUES ($1) ON CONFLICT (product_id) DO NOTHING")
                .bind(&document.product_id)
                .execute(&mut *c)
                .await?;
            let rowid: i64 = sqlx::query_scalar("SELECT rowid FROM product_search_ids WHERE product_id = $1")
                .bind(&document.product_id)
                .fetch_one(&mut *c)
                .await?;
            sqlx::query("DELETE FROM product_search WHERE rowid = $1")
                .bind(rowid)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO product_search (rowid, product_id, status, title, skus, categories, description)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(rowid)
            .bind(&document.product_id)
            .bind(&document.status)
            .bind(&document.title)
            .bind(&document.skus)
            .bind(&document.categories)
            .bind(&document.description)
            .execute(&mut *c)
            .await?;
        }
        Raw::Postgres(c) => {
            sqlx::query(
                "UPDATE products SET search_vector =
                     setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'A')
                     || setweight(to_tsvector('simple', $4), 'B') || setweight(to_tsvector('simple', $5), 'D')
                 WHERE id = $1",
            )
            .bind(&document.product_id)
            .bind(&document.title)
            .bind(&document.skus)
            .bind(&document.categories)
            .bind(&document.description)
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

/// Rebuilds the whole index and vocabulary from the catalog's rows, in one transaction,
/// by the database's own bulk statements (as migration 0013 first filled them): for
/// catalogs written past Backroom (a bulk load in SQL, a restore of a table).
pub async fn rebuild(store: &super::Store) -> StoreResult<()> {
    let mut tx = store.write().await?;
    let statements: &[&str] = match tx.raw() {
        Raw::Sqlite(_) => &[
            "DELETE FROM product_search",
            "DELETE FROM product_search_ids WHERE product_id NOT IN (SELECT id FROM products)",
            "INSERT INTO product_search_ids (product_id) SELECT id FROM products ORDER BY id
             ON CONFLICT (product_id) DO NOTHING",
            "INSERT INTO product_search (rowid, product_id, status, title, skus, categories, description)
             SELECT i.rowid, p.id, p.status, p.title,
                    COALESCE((SELECT group_concat(v.sku, ' ') FROM variants v WHERE v.product_id = p.id), ''),
                    COALESCE((SELECT group_concat(c.name, ' ') FROM product_categories pc
                              JOIN categories c ON c.id = pc.category_id WHERE pc.product_id = p.id), ''),
                    p.description
             FROM products p JOIN product_search_ids i ON i.product_id = p.id",
            "DELETE FROM search_terms",
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.product_search_words USING fts5vocab(main, product_search, 'row')",
            "INSERT INTO search_terms (term)
             SELECT term FROM temp.product_search_words WHERE length(term) BETWEEN 3 AND 40",
            "DROP TABLE temp.product_search_words",
        ],
        Raw::Postgres(_) => &[
            "UPDATE products p SET search_vector =
                 setweight(to_tsvector('simple', regexp_replace(p.title, '[^[:alnum:]]+', ' ', 'g')), 'A')
                 || setweight(to_tsvector('simple', regexp_replace(COALESCE((SELECT string_agg(v.sku, ' ')
                        FROM variants v WHERE v.product_id = p.id), ''), '[^[:alnum:]]+', ' ', 'g')), 'A')
                 || setweight(to_tsvector('simple', regexp_replace(COALESCE((SELECT string_agg(c.name, ' ')
                        FROM product_categories pc JOIN categories c ON c.id = pc.category_id
                        WHERE pc.product_id = p.id), ''), '[^[:alnum:]]+', ' ', 'g')), 'B')
                 || setweight(to_tsvector('simple', regexp_replace(p.description, '[^[:alnum:]]+', ' ', 'g')), 'D')",
            "DELETE FROM search_terms",
            "INSERT INTO search_terms (term)
             SELECT word FROM ts_stat('SELECT search_vector FROM products') WHERE length(word) BETWEEN 3 AND 40",
        ],
    };
    let common = [
        "DELETE FROM search_term_deletions",
        "WITH RECURSIVE positions (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM positions WHERE n < 40)
         INSERT INTO search_term_deletions (deletion, term)
         SELECT substr(t.term, 1, p.n - 1) || substr(t.term, p.n + 1), t.term
         FROM search_terms t JOIN positions p ON p.n <= length(t.term)
         UNION
         SELECT term, term FROM search_terms",
    ];
    for statement in statements.iter().chain(common.iter()) {
        exec!(tx, sqlx::query(*statement))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Adds words to the catalog's vocabulary, each with its one-letter deletions (`deletions`
/// gives them); words known already cost one conflicting insert each.
pub async fn add_terms(conn: &mut Conn, terms: &[String], deletions: impl Fn(&str) -> Vec<String>) -> StoreResult<()> {
    for term in terms {
        let added = exec!(
            conn,
            sqlx::query("INSERT INTO search_terms (term) VALUES ($1) ON CONFLICT (term) DO NOTHING").bind(term)
        )?;
        if added == 0 {
            continue;
        }
        for deletion in deletions(term).iter().chain(std::iter::once(term)) {
            exec!(
                conn,
                sqlx::query(
                    "INSERT INTO search_term_deletions (deletion, term) VALUES ($1, $2)
                     ON CONFLICT (deletion, term) DO NOTHING",
                )
                .bind(deletion)
                .bind(term)
            )?;
        }
    }
    Ok(())
}

/// The catalog's words that share a one-letter deletion (or the whole word) with any of
/// `keys`: every word one edit away from the word the keys were made of, and a few more.
pub async fn terms_sharing_a_deletion(conn: &mut Conn, keys: &[String]) -> StoreResult<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT term FROM search_term_deletions WHERE deletion IN (");
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.bind(Param::Text(Some(key)));
    }
    sql.push(") ORDER BY term LIMIT 200");
    Ok(run!(conn, &sql, query_scalar, fetch_all)?)
}

/// One page of the products `filter` selects, in its order: their ids.
pub async fn search_products(
    conn: &mut Conn,
    filter: &SearchFilter<'_>,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let postgres = matches!(conn.raw(), Raw::Postgres(_));
    let mut sql = Sql::default();
    let text = text_query(filter.words, postgres);
    let only_words = filter.category_id.is_none() && filter.min_price.is_none() && filter.max_price.is_none();
    if let (Some(text), true, SearchOrder::Relevance, true) = (&text, postgres, filter.order, only_words) {
        // As on SQLite below: ranked among the newest RANKED_MATCHES matches, so that
        // ts_rank reads a bounded number of tsvectors.
        sql.push("SELECT m.id FROM (SELECT p.id, p.search_vector FROM products p WHERE p.search_vector @@ to_tsquery('simple', ")
            .bind(Param::Text(Some(text)))
            .push(")");
        if let Some(status) = filter.status {
            sql.push(" AND p.status = ").bind(Param::Text(Some(status)));
        }
        sql.push(" ORDER BY p.id DESC LIMIT ")
            .bind(Param::Int(Some(RANKED_MATCHES)))
            .push(") m ORDER BY ts_rank(m.search_vector, to_tsquery('simple', ")
            .bind(Param::Text(Some(text)))
            .push(")) DESC, m.id DESC LIMIT ")
            .bind(Param::Int(Some(limit)))
            .push(" OFFSET ")
            .bind(Param::Int(Some(offset)));
        return Ok(run!(conn, &sql, query_scalar, fetch_all)?);
    }
    if let (Some(text), false, true, SearchOrder::Relevance) = (&text, postgres, only_words, filter.order) {
        // The common search, answered by FTS5 alone and ranked among its newest
        // RANKED_MATCHES matches: ranking costs every match it ranks (at 100,000
        // products a word in one title of ten was 15 ms per search ranking all 10,000,
        // 3 ms ranking the newest 1,000), and FTS5 cannot stop early at the best ones.
        sql.push(
            "SELECT product_id FROM (SELECT product_id, rowid AS r, bm25(product_search, 0.0, 0.0, 10.0, 8.0, 3.0, 1.0)
             AS score FROM product_search WHERE product_search MATCH ",
        )
        .bind(Param::Text(Some(text)));
        if let Some(status) = filter.status {
            sql.push(" AND status = ").bind(Param::Text(Some(status)));
        }
        sql.push(" ORDER BY rowid DESC LIMIT ")
            .bind(Param::Int(Some(RANKED_MATCHES)))
            .push(") ORDER BY score, r DESC LIMIT ")
            .bind(Param::Int(Some(limit)))
            .push(" OFFSET ")
            .bind(Param::Int(Some(offset)));
        return Ok(run!(conn, &sql, query_scalar, fetch_all)?);
    }
    sql.push("SELECT p.id ");
    matching(&mut sql, filter, text.as_deref(), postgres);
    sql.push(" ORDER BY ");
    match (filter.order, &text) {
        (SearchOrder::Relevance, Some(text)) if postgres => {
            // ts_rank weighs A (title, SKUs) 1.0, B (categories) 0.4, D (description) 0.1.
            sql.push("ts_rank(p.search_vector, to_tsquery('simple', ")
                .bind(Param::Text(Some(text)))
                .push(")) DESC, ");
        }
        (SearchOrder::Relevance, Some(_)) => {
            sql.push("m.score, ");
        }
        (SearchOrder::PriceAscending | SearchOrder::PriceDescending, _) => {
            sql.push("(SELECT MIN(");
            price_in_currency(&mut sql, filter.currency);
            sql.push(") FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ")
                .bind(Param::Text(Some(filter.currency)))
                .push(" WHERE v.product_id = p.id) ")
                .push(if filter.order == SearchOrder::PriceAscending {
                    "ASC"
                } else {
                    "DESC"
                })
                .push(" NULLS LAST, ");
        }
        _ => {}
    }
    sql.push("p.id DESC LIMIT ")
        .bind(Param::Int(Some(limit)))
        .push(" OFFSET ")
        .bind(Param::Int(Some(offset)));
    Ok(run!(conn, &sql, query_scalar, fetch_all)?)
}

/// Category counts and the price range of every product `filter` selects, computed by the
/// database.
pub async fn search_facets(conn: &mut Conn, filter: &SearchFilter<'_>) -> StoreResult<SearchFacets> {
    let postgres = matches!(conn.raw(), Raw::Postgres(_));
    let text = text_query(filter.words, postgres);
    let mut categories = Sql::default();
    categories.push(
        "SELECT pc.category_id, CAST(COUNT(*) AS BIGINT) FROM product_categories pc WHERE pc.product_id IN (SELECT p.id ",
    );
    matching(&mut categories, filter, text.as_deref(), postgres);
    categories.push(") GROUP BY pc.category_id ORDER BY COUNT(*) DESC, pc.category_id");
    let categories: Vec<(String, i64)> = run!(conn, &categories, query_as, fetch_all)?;

    let mut price = Sql::default();
    price.push("SELECT MIN(x.price), MAX(x.price) FROM (SELECT ");
    price_in_currency(&mut price, filter.currency);
    price
        .push(" AS price FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ")
        .bind(Param::Text(Some(filter.currency)))
        .push(" WHERE v.product_id IN (SELECT p.id ");
    matching(&mut price, filter, text.as_deref(), postgres);
    price.push(")) x");
    if filter.min_price.is_some() || filter.max_price.is_some() {
        // The range of the prices the filter let through, not of every variant.
        price
            .push(" WHERE x.price BETWEEN ")
            .bind(Param::Int(Some(filter.min_price.unwrap_or(0))))
            .push(" AND ")
            .bind(Param::Int(Some(filter.max_price.unwrap_or(i64::MAX))));
    }
    let (min, max): (Option<i64>, Option<i64>) = run!(conn, &price, query_as, fetch_one)?;
    Ok(SearchFacets {
        categories,
        price: min.zip(max),
    })
}

/// `v`'s price in `currency`: its own when that is its currency, else its row in
/// `variant_prices` (joined as `vp`); NULL where it is not sold in it.
fn price_in_currency<'a>(sql: &mut Sql<'a>, currency: &'a str) {
    sql.push("CASE WHEN v.currency = ")
        .bind(Param::Text(Some(currency)))
        .push(" THEN v.price_amount ELSE vp.amount END");
}

/// The `FROM` and `WHERE` that select the products of `filter`, as `p` (and, on SQLite
/// with words, their matches as `m`).
fn matching<'a>(sql: &mut Sql<'a>, filter: &SearchFilter<'a>, text: Option<&'a str>, postgres: bool) {
    match (text, postgres) {
        (Some(text), false) => {
            // The matches drive the join: CROSS JOIN keeps SQLite from scanning every
            // product and asking FTS5 again for each (seen: 20 s at 100,000 products).
            // Column weights: title, SKUs, categories, description.
            sql.push(
                "FROM (SELECT product_id, bm25(product_search, 0.0, 0.0, 10.0, 8.0, 3.0, 1.0) AS score
                       FROM product_search WHERE product_search MATCH ",
            )
            .bind(Param::Text(Some(text)))
            .push(") m CROSS JOIN products p ON p.id = m.product_id ");
        }
        _ => {
            sql.push("FROM products p ");
        }
    }
    sql.push("WHERE 1 = 1");
    if let (Some(text), true) = (text, postgres) {
        sql.push(" AND p.search_vector @@ to_tsquery('simple', ")
            .bind(Param::Text(Some(text)))
            .push(")");
    }
    if let Some(status) = filter.status {
        sql.push(" AND p.status = ").bind(Param::Text(Some(status)));
    }
    if let Some(category_id) = filter.category_id {
        sql.push(" AND (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = ")
            .bind(Param::Text(Some(category_id)))
            .push(") IS NOT NULL");
    }
    if filter.min_price.is_some() || filter.max_price.is_some() {
        sql.push(" AND EXISTS (SELECT 1 FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ")
            .bind(Param::Text(Some(filter.currency)))
            .push(" WHERE v.product_id = p.id AND (");
        price_in_currency(sql, filter.currency);
        sql.push(") BETWEEN ")
            .bind(Param::Int(Some(filter.min_price.unwrap_or(0))))
            .push(" AND ")
            .bind(Param::Int(Some(filter.max_price.unwrap_or(i64::MAX))))
            .push(")");
    }
}

/// The words as the database's text query: FTS5's `("mug"* OR "mugs") AND ...`, or
/// PostgreSQL's `(mug:* | mugs) & ...`. Words hold letters and digits only (the domain
/// splits on everything else), so nothing in them is syntax.
fn text_query(words: &[SearchWord], postgres: bool) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    let groups: Vec<String> = words
        .iter()
        .map(|word| {
            let first = match (postgres, word.prefix) {
                (true, true) => format!("{}:*", word.word),
                (true, false) => word.word.clone(),
                (false, true) => format!("\"{}\"*", word.word),
                (false, false) => format!("\"{}\"", word.word),
            };
            let alternatives = word.alternatives.iter().map(|alternative| match postgres {
                true => alternative.clone(),
                false => format!("\"{alternative}\""),
            });
            let either: Vec<String> = std::iter::once(first).chain(alternatives).collect();
            let or = if postgres { " | " } else { " OR " };
            format!("({})", either.join(or))
        })
        .collect();
    Some(groups.join(if postgres { " & " } else { " AND " }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, prefix: bool, alternatives: &[&str]) -> SearchWord {
        SearchWord {
            word: text.to_owned(),
            prefix,
            alternatives: alternatives.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn words_become_each_databases_query() {
        let words = [word("mug", true, &[]), word("shrit", true, &["shirt"])];
        assert_eq!(
            text_query(&words, false).as_deref(),
            Some(r#"("mug"*) AND ("shrit"* OR "shirt")"#)
        );
        assert_eq!(text_query(&words, true).as_deref(), Some("(mug:*) & (shrit:* | shirt)"));
        assert_eq!(text_query(&[], true), None);
    }
}
