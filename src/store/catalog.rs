//! Products, variants, categories and stock levels.

use super::images::ImageRow;
use super::{Conn, Raw, StoreError, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ProductRow {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: String,
    /// The class its tax rates are looked up in (`standard` unless said).
    pub tax_class: String,
    /// For search engines; empty: the title and description.
    pub seo_title: String,
    pub seo_description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct VariantRow {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub price_amount: i64,
    pub currency: String,
    pub options: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub position: i64,
    pub weight_grams: i64,
}

/// A variant's price in a currency other than its own (see migration 0008).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PriceRow {
    pub variant_id: String,
    pub currency: String,
    pub amount: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent_id: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ProductCategoryRow {
    pub product_id: String,
    pub category_id: String,
}

/// A variant with what a cart needs to know about its product.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SellableVariantRow {
    pub id: String,
    pub product_status: String,
    /// Its price in the currency asked for; `None` where it is not sold in it.
    pub price_amount: Option<i64>,
}

/// The rows of one page of products: every table read with one query for the whole page.
#[derive(Debug, Default)]
pub struct ProductPageRows {
    pub products: Vec<ProductRow>,
    pub variants: Vec<VariantRow>,
    pub prices: Vec<PriceRow>,
    pub categories: Vec<ProductCategoryRow>,
    pub images: Vec<ImageRow>,
}

/// Filters of a product list; `None` means "any".
#[derive(Debug, Clone)]
pub struct ProductFilter<'a> {
    pub status: Option<&'a str>,
    /// Only ids before this one (the cursor); `None` for the first page.
    pub before_id: Option<&'a str>,
    /// Only products in this category.
    pub category_id: Option<&'a str>,
    pub limit: i64,
}

/// The page of products a filter selects, newest first: its ids, with only the conditions
/// the filter has and the limit written out. PostgreSQL plans a prepared statement once
/// (a generic plan) only when no value could change its plan; with `$1 IS NULL OR ...`
/// conditions and a `LIMIT $4` it planned the page's statement anew on every execution,
/// 0.6 ms of its 2.2 (`EXPLAIN ANALYZE` of the 9th execution, demo catalog).
///
/// The category test is a correlated lookup on the (product, category) key, one index probe
/// per product scanned. Written as `EXISTS`, PostgreSQL hashed every product of the
/// category first: 22 ms per query at 100,000 products, growing with the catalog.
fn filtered_page(filter: &ProductFilter<'_>) -> String {
    let mut conditions = Vec::new();
    let mut placeholder = 0;
    let mut next = || {
        placeholder += 1;
        format!("${placeholder}")
    };
    if filter.status.is_some() {
        conditions.push(format!("p.status = {}", next()));
    }
    if filter.before_id.is_some() {
        conditions.push(format!("p.id < {}", next()));
    }
    if filter.category_id.is_some() {
        conditions.push(format!(
            "(SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = {}) IS NOT NULL",
            next()
        ));
    }
    let conditions = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!(
        "SELECT p.id FROM products p{conditions} ORDER BY p.id DESC LIMIT {}",
        filter.limit
    )
}

pub async fn list_products(conn: &mut Conn, filter: &ProductFilter<'_>) -> StoreResult<ProductPageRows> {
    let sql = page_query(conn, &filtered_page(filter));
    let values = [filter.status, filter.before_id, filter.category_id];
    let page = on_conn!(conn, |c| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
        for value in values.into_iter().flatten() {
            query = query.bind(value);
        }
        query.fetch_one(c).await
    })?;
    rows_of(page)
}

/// The rows of the products `ids` (a page a search chose), in no particular order.
pub async fn list_products_by_ids(conn: &mut Conn, ids: &[String]) -> StoreResult<ProductPageRows> {
    if ids.is_empty() {
        return Ok(ProductPageRows::default());
    }
    let placeholders = super::placeholders(1, ids.len());
    let sql = page_query(conn, &format!("SELECT id FROM products WHERE id IN ({placeholders})"));
    let page = on_conn!(conn, |c| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_one(c).await
    })?;
    rows_of(page)
}

/// The rows of the product with this id or slug (and `status` when given): no product
/// rows when there is none.
pub async fn product_rows(conn: &mut Conn, id_or_slug: &str, status: Option<&str>) -> StoreResult<ProductPageRows> {
    let sql = page_query(
        conn,
        "SELECT id FROM products WHERE (id = $1 OR slug = $1) AND ($2 IS NULL OR status = $2)",
    );
    let page = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id_or_slug)
            .bind(status)
            .fetch_one(c)
            .await
    })?;
    rows_of(page)
}

/// A page of products as one row: each table's rows as a JSON array.
#[derive(sqlx::FromRow)]
struct PageAsJson {
    products: String,
    variants: String,
    prices: String,
    categories: String,
    images: String,
}

/// The one statement that reads every table of the products `selection` picks (a query of
/// their ids), each table as a JSON array of its rows.
///
/// Why one statement rather than one per table: each statement is a hop to the SQLite
/// connection's thread, or a round trip to PostgreSQL, and a page of 20 products is 60 to
/// 150 rows, each handed across from sqlx's SQLite thread on its own. Products read from
/// the database (`Cache-Control: no-cache`, `serve --demo`) went from 5,253-6,354 to
/// 5,774-7,125 requests/s on SQLite and from 2,624-2,737 to 3,389-3,476 on PostgreSQL.
fn page_query(conn: &mut Conn, selection: &str) -> String {
    let postgres = matches!(conn.raw(), Raw::Postgres(_));
    let array = |columns: &[&str], from: &str, order: &str| json_array(postgres, columns, from, order);
    let products = array(
        &[
            "p.id",
            "p.slug",
            "p.title",
            "p.description",
            "p.status",
            "p.tax_class",
            "p.seo_title",
            "p.seo_description",
            "p.created_at",
            "p.updated_at",
        ],
        "products p WHERE p.id IN (SELECT id FROM page)",
        "p.id DESC",
    );
    let variants = array(
        &[
            "v.id",
            "v.product_id",
            "v.sku",
            "v.title",
            "v.price_amount",
            "v.currency",
            "v.options",
            "v.on_hand",
            "v.reserved",
            "v.position",
            "v.weight_grams",
        ],
        "variants v WHERE v.product_id IN (SELECT id FROM page)",
        "v.product_id, v.position",
    );
    let prices = array(
        &["vp.variant_id", "vp.currency", "vp.amount"],
        "variant_prices vp JOIN variants v ON v.id = vp.variant_id WHERE v.product_id IN (SELECT id FROM page)",
        "vp.variant_id, vp.currency",
    );
    let categories = array(
        &["pc.product_id", "pc.category_id"],
        "product_categories pc WHERE pc.product_id IN (SELECT id FROM page)",
        "pc.product_id, pc.category_id",
    );
    let images = array(
        &[
            "i.id",
            "i.product_id",
            "i.position",
            "i.alt",
            "i.format",
            "i.width",
            "i.height",
            "i.source_url",
        ],
        "product_images i WHERE i.product_id IN (SELECT id FROM page)",
        "i.product_id, i.position, i.id",
    );
    format!(
        "WITH page AS MATERIALIZED ({selection})
         SELECT {products} AS products, {variants} AS variants, {prices} AS prices,
                {categories} AS categories, {images} AS images"
    )
}

/// A scalar subquery: the rows of `from` in `order` as the text of a JSON array of objects,
/// each column under its own name (`p.id` as `id`).
///
/// PostgreSQL turns whole rows into JSON (`json_agg(r)`): `json_build_object` looked up
/// every value's type on every call, and took the list page's statement from 1.94 to
/// 1.54 ms of PostgreSQL's time (`pgbench -M prepared`, demo catalog, 21 products).
fn json_array(postgres: bool, columns: &[&str], from: &str, order: &str) -> String {
    let unqualified = |column: &str| column.rsplit('.').next().unwrap_or(column).to_owned();
    if postgres {
        let order = order
            .split(", ")
            .map(|term| format!("r.{}", unqualified(term)))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = columns.join(", ");
        format!("(SELECT COALESCE(json_agg(r ORDER BY {order}), '[]')::text FROM (SELECT {columns} FROM {from}) r)")
    } else {
        let fields = columns
            .iter()
            .map(|column| format!("'{}', {column}", unqualified(column)))
            .collect::<Vec<_>>()
            .join(", ");
        format!("(SELECT json_group_array(json_object({fields}) ORDER BY {order}) FROM {from})")
    }
}

fn rows_of(page: PageAsJson) -> StoreResult<ProductPageRows> {
    fn parse<T: serde::de::DeserializeOwned>(table: &str, json: &str) -> StoreResult<Vec<T>> {
        serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("{table} of a product page: {error}")))
    }
    Ok(ProductPageRows {
        products: parse("products", &page.products)?,
        variants: parse("variants", &page.variants)?,
        prices: parse("prices", &page.prices)?,
        categories: parse("categories", &page.categories)?,
        images: parse("images", &page.images)?,
    })
}

/// A product by id or slug, with `status` when given.
pub async fn find_product(conn: &mut Conn, id_or_slug: &str, status: Option<&str>) -> StoreResult<Option<ProductRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, slug, title, description, status, tax_class, seo_title, seo_description, created_at, updated_at
             FROM products WHERE (id = $1 OR slug = $1) AND ($2 IS NULL OR status = $2)",
        )
        .bind(id_or_slug)
        .bind(status)
        .fetch_optional(c)
        .await
    })?)
}

/// The variant with this SKU, of any product.
pub async fn find_variant_by_sku(conn: &mut Conn, sku: &str) -> StoreResult<Option<VariantRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, product_id, sku, title, price_amount, currency, options, on_hand, reserved, position, weight_grams
             FROM variants WHERE sku = $1",
        )
        .bind(sku)
        .fetch_optional(c)
        .await
    })?)
}

/// Sets a variant's options (a JSON object of name to value).
pub async fn set_variant_options(conn: &mut Conn, variant_id: &str, options: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE variants SET options = $2 WHERE id = $1")
            .bind(variant_id)
            .bind(options)
    )?;
    Ok(())
}

/// A variant's prices in currencies other than its own.
pub async fn list_variant_prices(conn: &mut Conn, variant_id: &str) -> StoreResult<Vec<PriceRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT variant_id, currency, amount FROM variant_prices WHERE variant_id = $1 ORDER BY currency",
        )
        .bind(variant_id)
        .fetch_all(c)
        .await
    })?)
}

/// Makes `prices` the variant's prices in currencies other than its own.
pub async fn replace_variant_prices(conn: &mut Conn, variant_id: &str, prices: &[PriceRow]) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM variant_prices WHERE variant_id = $1").bind(variant_id)
    )?;
    for price in prices {
        exec!(
            conn,
            sqlx::query("INSERT INTO variant_prices (variant_id, currency, amount) VALUES ($1, $2, $3)")
                .bind(variant_id)
                .bind(&price.currency)
                .bind(price.amount)
        )?;
    }
    Ok(())
}

pub async fn slug_taken(conn: &mut Conn, slug: &str) -> StoreResult<bool> {
    let found: Option<i64> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM products WHERE slug = $1")
            .bind(slug)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.is_some())
}

/// Inserts a product (its search entry is written by `search::index_document`; the
/// column `search_text` of migration 0001 is no longer read, and stays empty).
pub async fn insert_product(conn: &mut Conn, row: &ProductRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO products (id, slug, title, description, status, created_at, updated_at, tax_class,
                                   seo_title, seo_description)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.slug)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.status)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(&row.tax_class)
        .bind(&row.seo_title)
        .bind(&row.seo_description)
    )?;
    Ok(())
}

pub async fn update_product(conn: &mut Conn, row: &ProductRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE products SET slug = $2, title = $3, description = $4, status = $5, updated_at = $6, tax_class = $7,
                 seo_title = $8, seo_description = $9
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.slug)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.status)
        .bind(row.updated_at)
        .bind(&row.tax_class)
        .bind(&row.seo_title)
        .bind(&row.seo_description)
    )?;
    Ok(())
}

pub async fn insert_variant(conn: &mut Conn, row: &VariantRow, created_at: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO variants (id, product_id, sku, title, price_amount, currency, options, on_hand, reserved,
                                   position, created_at, updated_at, weight_grams)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10, $11)",
        )
        .bind(&row.id)
        .bind(&row.product_id)
        .bind(&row.sku)
        .bind(&row.title)
        .bind(row.price_amount)
        .bind(&row.currency)
        .bind(&row.options)
        .bind(row.on_hand)
        .bind(row.position)
        .bind(created_at)
        .bind(row.weight_grams)
    )?;
    Ok(())
}

pub async fn update_variant(conn: &mut Conn, row: &VariantRow, updated_at: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE variants SET sku = $2, title = $3, price_amount = $4, updated_at = $5, weight_grams = $6 WHERE id = $1"
        )
        .bind(&row.id)
        .bind(&row.sku)
        .bind(&row.title)
        .bind(row.price_amount)
        .bind(updated_at)
        .bind(row.weight_grams)
    )?;
    Ok(())
}

/// Marks a product changed (a variant or an image of it changed), for clients that sync by
/// `updated_at`; gives how many products it found (0 or 1).
pub async fn touch_product(conn: &mut Conn, product_id: &str, now: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("UPDATE products SET updated_at = $2 WHERE id = $1")
            .bind(product_id)
            .bind(now)
    )?)
}

pub async fn next_variant_position(conn: &mut Conn, product_id: &str) -> StoreResult<i64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(position) + 1, 0) AS BIGINT) FROM variants WHERE product_id = $1")
            .bind(product_id)
            .fetch_one(c)
            .await
    })?)
}

pub async fn replace_product_categories(conn: &mut Conn, product_id: &str, category_ids: &[String]) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM product_categories WHERE product_id = $1").bind(product_id)
    )?;
    for category_id in category_ids {
        exec!(
            conn,
            sqlx::query("INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)")
                .bind(product_id)
                .bind(category_id)
        )?;
    }
    Ok(())
}

/// The id of the category with this name, whatever its case.
pub async fn find_category_id_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT id FROM categories WHERE lower(name) = lower($1) ORDER BY id LIMIT 1")
            .bind(name)
            .fetch_optional(c)
            .await
    })?)
}

/// The id of the category with this id or slug.
pub async fn find_category_id(conn: &mut Conn, id_or_slug: &str) -> StoreResult<Option<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT id FROM categories WHERE id = $1 OR slug = $1 ORDER BY id LIMIT 1")
            .bind(id_or_slug)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn category_exists(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    let found: Option<i64> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM categories WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.is_some())
}

pub async fn insert_category(conn: &mut Conn, row: &CategoryRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("INSERT INTO categories (id, name, slug, parent_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.slug)
            .bind(&row.parent_id)
            .bind(row.created_at)
    )?;
    Ok(())
}

pub async fn list_categories(conn: &mut Conn, before_id: Option<&str>, limit: i64) -> StoreResult<Vec<CategoryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, name, slug, parent_id, created_at FROM categories WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// A variant's price in `currency`: its own price when `currency` is its own, else its row in
/// `variant_prices` (alias `vp`, joined on the variant and the currency), else NULL. Shared by
/// every query that prices a variant for a cart, so that they agree.
#[macro_export]
macro_rules! variant_price_in {
    ($currency:literal) => {
        concat!(
            "CASE WHEN v.currency = ",
            $currency,
            " THEN v.price_amount ELSE vp.amount END"
        )
    };
}

/// A variant with its product's status and its price in `currency`.
pub async fn find_sellable_variant(
    conn: &mut Conn,
    variant_id: &str,
    currency: &str,
) -> StoreResult<Option<SellableVariantRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT v.id, p.status AS product_status, ",
            crate::variant_price_in!("$2"),
            " AS price_amount
             FROM variants v JOIN products p ON p.id = v.product_id
             LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = $2
             WHERE v.id = $1"
        ))
        .bind(variant_id)
        .bind(currency)
        .fetch_optional(c)
        .await
    })?)
}
