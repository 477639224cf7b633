//! Full-text search of the catalog, the one place where the two databases' text indexes
//! differ: SQLite's FTS5 table `product_search` (a column per field) and PostgreSQL's
//! `products.search_vector` (a tsvector weighted by field, with a GIN index). Both rank
//! title and SKU matches above category names, and those above descriptions.
//! The catalog's words and their one-letter deletions (for typos) are plain tables,
//! queried the same on both (see migration 0014).

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
    /// Every indexed word that starts with `word`, when `prefix` and they are known (see
    /// [`completions`]): searched for as whole words instead of as a prefix.
    pub completions: Option<Vec<String>>,
    pub alternatives: Vec<String>,
}

/// The orders of a search's listing other than relevance (which is `search_ranked`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
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
}

/// The facets of every product a search selects.
#[derive(Debug, Clone, Default)]
pub struct SearchFacets {
    /// `(category id, products)`, most products first.
    pub categories: Vec<(String, i64)>,
    /// The lowest and highest variant price in the listing's currency.
    pub price: Option<(i64, i64)>,
}

/// A relevance ranking's tiers, best first: every word in the title or a SKU; every word
/// there or in a category name; every word anywhere (the description). Within a tier the
/// newest product comes first.
///
/// Tiers rather than a score such as bm25 or ts_rank: a score costs every match it ranks
/// (at 100,000 products a word in one title of ten took 15 ms on SQLite to rank), while a
/// tier is a text query in the index's own order, which stops at the end of the page
/// (0.3 ms there). Every match is listed, and a cursor resumes a tier where it stopped.
pub const RANK_TIERS: u8 = 3;

/// Where a relevance ranking's page starts: after `product_id` in `tier` (1-based).
#[derive(Debug, Clone, Copy)]
pub struct RankedAfter<'a> {
    pub tier: u8,
    pub product_id: &'a str,
}

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
/// by the database's own bulk statements (as migration 0014 first filled them): for
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
             SELECT term FROM temp.product_search_words WHERE length(term) >= 3",
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
             SELECT word FROM ts_stat('SELECT search_vector FROM products') WHERE length(word) >= 3",
        ],
    };
    let common = [
        "DELETE FROM search_term_deletions",
        "WITH RECURSIVE positions (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM positions WHERE n < 40)
         INSERT INTO search_term_deletions (deletion, term)
         SELECT substr(t.term, 1, p.n - 1) || substr(t.term, p.n + 1), t.term
         FROM search_terms t JOIN positions p ON p.n <= length(t.term)
         WHERE length(t.term) <= 40
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

/// Past this many words starting with a prefix, the index is asked for the prefix itself.
const MAX_COMPLETIONS: usize = 32;

/// Every word of the catalog that starts with `prefix`, on SQLite, when there are at most
/// [`MAX_COMPLETIONS`] and they are surely all there are; `None` otherwise, and always on
/// PostgreSQL, whose GIN index answers a prefix as fast as a word.
///
/// FTS5 answers a prefix longer than those of its prefix index (two and three letters,
/// migration 0015) by first merging the lists of every document holding a word that
/// starts with it, and only then stops at the page's end: at 100,000 products, `copper*`
/// took 0.9 ms, `copper` 0.15 ms. The vocabulary (`search_terms`) holds every indexed
/// word of three letters or more, so it knows them all. FTS5 also folds accents ("Cafés"
/// is indexed as "cafes") and the vocabulary keeps words as written, so a word with a
/// non-ASCII letter where the prefix has a letter may be indexed as one that starts with
/// it: the prefix is then searched as a prefix, as it is when it is not ASCII itself.
pub async fn completions(conn: &mut Conn, prefix: &str) -> StoreResult<Option<Vec<String>>> {
    let indexed_prefix = prefix.len() <= 3;
    let ascii = prefix.bytes().all(|b| b.is_ascii_alphanumeric());
    if matches!(conn.raw(), Raw::Postgres(_)) || indexed_prefix || !ascii {
        return Ok(None);
    }
    let mut sql = Sql::default();
    sql.push("SELECT term FROM search_terms WHERE (term >= ")
        .bind(Param::Text(Some(prefix)));
    let after_prefix = just_after(prefix);
    sql.push(" AND term < ")
        .bind(Param::Text(Some(&after_prefix)))
        .push(")");
    // The words that start as the prefix does and then have a non-ASCII letter.
    let starts: Vec<(String, String)> = (0..prefix.len())
        .map(|end| {
            (
                format!("{}\u{80}", &prefix[..end]),
                format!("{}\u{10FFFF}", &prefix[..end]),
            )
        })
        .collect();
    for (from, to) in &starts {
        sql.push(" OR (term >= ")
            .bind(Param::Text(Some(from)))
            .push(" AND term < ")
            .bind(Param::Text(Some(to)))
            .push(")");
    }
    sql.push(" LIMIT ").bind(Param::Int(Some(MAX_COMPLETIONS as i64 + 1)));
    let terms: Vec<String> = run!(conn, &sql, query_scalar, fetch_all)?;
    let complete = terms.len() <= MAX_COMPLETIONS && terms.iter().all(|term| term.starts_with(prefix));
    Ok(complete.then_some(terms))
}

/// The smallest string after every string that starts with `prefix` (ASCII letters and
/// digits): its last letter's successor.
fn just_after(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// One page of a relevance ranking of the products `filter` selects (which has words):
/// `(tier, product id)`, best first. See `RANK_TIERS`.
pub async fn search_ranked(
    conn: &mut Conn,
    filter: &SearchFilter<'_>,
    after: Option<RankedAfter<'_>>,
    limit: i64,
) -> StoreResult<Vec<(u8, String)>> {
    let postgres = matches!(conn.raw(), Raw::Postgres(_));
    let mut found = Vec::new();
    let first_tier = after.map_or(1, |after| after.tier);
    for tier in first_tier..=RANK_TIERS {
        let wanted = limit - found.len() as i64;
        if wanted <= 0 {
            break;
        }
        let Some(text) = tier_query(filter.words, tier, postgres) else {
            return Ok(found);
        };
        let after_id = after.filter(|after| after.tier == tier).map(|after| after.product_id);
        let mut sql = Sql::default();
        if postgres {
            sql.push("SELECT p.id FROM products p WHERE p.search_vector @@ to_tsquery('simple', ")
                .bind(Param::Text(Some(&text)))
                .push(")");
            if let Some(status) = filter.status {
                sql.push(" AND p.status = ").bind(Param::Text(Some(status)));
            }
            if let Some(after_id) = after_id {
                sql.push(" AND p.id < ").bind(Param::Text(Some(after_id)));
            }
            product_filters(&mut sql, filter, "p.id");
            sql.push(" ORDER BY p.id DESC LIMIT ").bind(Param::Int(Some(wanted)));
        } else {
            // FTS5 walks its matches in rowid order and stops at the LIMIT; its rowids
            // follow the products' creation (product_search_ids).
            sql.push("SELECT product_id FROM product_search WHERE product_search MATCH ")
                .bind(Param::Text(Some(&text)));
            if let Some(status) = filter.status {
                sql.push(" AND status = ").bind(Param::Text(Some(status)));
            }
            if let Some(after_id) = after_id {
                sql.push(" AND rowid < (SELECT rowid FROM product_search_ids WHERE product_id = ")
                    .bind(Param::Text(Some(after_id)))
                    .push(")");
            }
            product_filters(&mut sql, filter, "product_search.product_id");
            sql.push(" ORDER BY rowid DESC LIMIT ").bind(Param::Int(Some(wanted)));
        }
        let ids: Vec<String> = run!(conn, &sql, query_scalar, fetch_all)?;
        found.extend(ids.into_iter().map(|id| (tier, id)));
    }
    Ok(found)
}

/// One page of the products `filter` selects, in `order`: their ids.
pub async fn search_products(
    conn: &mut Conn,
    filter: &SearchFilter<'_>,
    order: SearchOrder,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let postgres = matches!(conn.raw(), Raw::Postgres(_));
    let mut sql = Sql::default();
    let text = text_query(filter.words, postgres);
    sql.push("SELECT p.id ");
    matching(&mut sql, filter, text.as_deref(), postgres);
    sql.push(" ORDER BY ");
    if let SearchOrder::PriceAscending | SearchOrder::PriceDescending = order {
        sql.push("(SELECT MIN(");
        price_in_currency(&mut sql, filter.currency);
        sql.push(") FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ")
            .bind(Param::Text(Some(filter.currency)))
            .push(" WHERE v.product_id = p.id) ")
            .push(if order == SearchOrder::PriceAscending {
                "ASC"
            } else {
                "DESC"
            })
            .push(" NULLS LAST, ");
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
            sql.push("FROM (SELECT product_id FROM product_search WHERE product_search MATCH ")
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
    product_filters(sql, filter, "p.id");
}

/// The category and price conditions of `filter` on the product whose id is `id`.
fn product_filters<'a>(sql: &mut Sql<'a>, filter: &SearchFilter<'a>, id: &str) {
    if let Some(category_id) = filter.category_id {
        sql.push(" AND (SELECT 1 FROM product_categories pc WHERE pc.product_id = ")
            .push(id)
            .push(" AND pc.category_id = ")
            .bind(Param::Text(Some(category_id)))
            .push(") IS NOT NULL");
    }
    if filter.min_price.is_some() || filter.max_price.is_some() {
        sql.push(" AND EXISTS (SELECT 1 FROM variants v LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ")
            .bind(Param::Text(Some(filter.currency)))
            .push(" WHERE v.product_id = ")
            .push(id)
            .push(" AND (");
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
    words_in(words, &TIER_FIELDS[TIER_FIELDS.len() - 1], postgres)
}

/// The fields each ranking tier looks for every word in: FTS5's columns, PostgreSQL's
/// weights (title and SKUs are A, categories B, the description D).
struct Fields {
    columns: Option<&'static str>,
    weights: &'static str,
}

const TIER_FIELDS: [Fields; RANK_TIERS as usize] = [
    Fields {
        columns: Some("{title skus}"),
        weights: "A",
    },
    Fields {
        columns: Some("{title skus categories}"),
        weights: "AB",
    },
    Fields {
        columns: None,
        weights: "",
    },
];

/// The text query of a ranking's `tier` (1-based): every word in its fields, and not every
/// word in the fields of the tier above, so that each match is in one tier.
fn tier_query(words: &[SearchWord], tier: u8, postgres: bool) -> Option<String> {
    let fields = TIER_FIELDS.get(usize::from(tier).checked_sub(1)?)?;
    let these = words_in(words, fields, postgres)?;
    let Some(above) = usize::from(tier).checked_sub(2).map(|index| &TIER_FIELDS[index]) else {
        return Some(these);
    };
    let above = words_in(words, above, postgres)?;
    Some(match postgres {
        true => format!("({these}) & !({above})"),
        false => format!("({these}) NOT ({above})"),
    })
}

/// Every word (or one of its alternatives) in one of `fields`.
fn words_in(words: &[SearchWord], fields: &Fields, postgres: bool) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    let weights = fields.weights;
    let groups: Vec<String> = words
        .iter()
        .map(|word| {
            let whole = |word: &String| match postgres {
                true if weights.is_empty() => word.clone(),
                true => format!("{word}:{weights}"),
                false => format!("\"{word}\""),
            };
            let first = match (postgres, word.prefix, &word.completions) {
                (true, true, _) => format!("{}:*{weights}", word.word),
                (false, true, None) => format!("\"{}\"*", word.word),
                _ => whole(&word.word),
            };
            let completions = match (postgres, word.prefix, &word.completions) {
                (false, true, Some(completions)) => completions.as_slice(),
                _ => &[],
            };
            let either: Vec<String> = std::iter::once(first)
                .chain(completions.iter().filter(|term| **term != word.word).map(whole))
                .chain(word.alternatives.iter().map(whole))
                .collect();
            let or = if postgres { " | " } else { " OR " };
            match (postgres, fields.columns) {
                (false, Some(columns)) => format!("{columns} : ({})", either.join(or)),
                _ => format!("({})", either.join(or)),
            }
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
            completions: None,
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

    #[test]
    fn a_prefix_with_known_completions_is_searched_as_those_words() {
        let cop = SearchWord {
            completions: Some(vec!["copper".to_owned(), "cops".to_owned()]),
            ..word("cop", true, &["cup"])
        };
        assert_eq!(
            text_query(std::slice::from_ref(&cop), false).as_deref(),
            Some(r#"("cop" OR "copper" OR "cops" OR "cup")"#)
        );
        assert_eq!(
            text_query(&[cop], true).as_deref(),
            Some("(cop:* | cup)"),
            "PostgreSQL's index answers prefixes itself"
        );
        let copper = SearchWord {
            completions: Some(vec!["copper".to_owned()]),
            ..word("copper", true, &[])
        };
        assert_eq!(text_query(&[copper], false).as_deref(), Some(r#"("copper")"#));
    }

    #[test]
    fn just_after_a_prefix_is_its_last_letters_successor() {
        assert_eq!(just_after("copper"), "coppes");
        assert_eq!(just_after("mz"), "m{");
        assert_eq!(just_after("a9"), "a:");
        assert!(just_after("copper").as_str() > "copperzzzzzz");
    }

    #[test]
    fn each_tier_is_its_fields_without_the_tier_above() {
        let words = [word("mug", true, &[]), word("shrit", false, &["shirt"])];
        assert_eq!(
            tier_query(&words, 1, false).as_deref(),
            Some(r#"{title skus} : ("mug"*) AND {title skus} : ("shrit" OR "shirt")"#)
        );
        assert_eq!(
            tier_query(&words, 2, true).as_deref(),
            Some("((mug:*AB) & (shrit:AB | shirt:AB)) & !((mug:*A) & (shrit:A | shirt:A))")
        );
        assert_eq!(
            tier_query(&words, 3, false).as_deref(),
            Some(
                r#"(("mug"*) AND ("shrit" OR "shirt")) NOT ({title skus categories} : ("mug"*) AND {title skus categories} : ("shrit" OR "shirt"))"#
            )
        );
        assert_eq!(tier_query(&words, 0, true), None);
        assert_eq!(tier_query(&words, RANK_TIERS + 1, true), None);
    }
}
