//! A catalog of any size, written straight into the database in large batches: the API
//! would take minutes for 100,000 products, and how the rows got there does not matter
//! to what is measured.

use std::fmt::Write;

use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

pub const CATEGORIES: [&str; 5] = ["kitchen", "garden", "apparel", "camp", "home"];
const ADJECTIVES: [&str; 10] = [
    "Enamel",
    "Linen",
    "Oak",
    "Copper",
    "Wool",
    "Canvas",
    "Stoneware",
    "Brass",
    "Cedar",
    "Steel",
];
const NOUNS: [&str; 10] = [
    "Mug", "Towel", "Board", "Kettle", "Blanket", "Bag", "Bowl", "Lamp", "Stool", "Bottle",
];
const BATCH: usize = 500;
/// So that no checkout of the benchmark ever runs out.
pub const STOCK: i64 = 10_000_000;

pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, String> {
        if url.starts_with("sqlite:") {
            Ok(Db::Sqlite(SqlitePool::connect(url).await.map_err(|e| e.to_string())?))
        } else {
            Ok(Db::Postgres(PgPool::connect(url).await.map_err(|e| e.to_string())?))
        }
    }

    async fn run(&self, sql: String) -> Result<(), String> {
        let sql = AssertSqlSafe(sql);
        match self {
            Db::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
        }
        .map_err(|e| e.to_string())
    }
}

/// The published products' slugs, for the scenarios to ask for.
pub struct Catalog {
    pub slugs: Vec<String>,
    pub variant_ids: Vec<String>,
}

/// Writes `products` published products (one variant each) in five categories. Every
/// value is generated here, so building the SQL text is safe.
pub async fn seed(db: &Db, url: &str, products: usize) -> Result<Catalog, String> {
    let now = now_micros();
    let mut categories = String::from("INSERT INTO categories (id, name, slug, created_at) VALUES ");
    for (index, slug) in CATEGORIES.iter().enumerate() {
        let separator = if index == 0 { "" } else { "," };
        let _ = write!(categories, "{separator}('cat_{slug}', '{slug}', '{slug}', {now})");
    }
    db.run(categories).await?;

    let mut catalog = Catalog {
        slugs: Vec::with_capacity(products),
        variant_ids: Vec::with_capacity(products),
    };
    for start in (0..products).step_by(BATCH) {
        let end = (start + BATCH).min(products);
        let mut product_rows = String::new();
        let mut variant_rows = String::new();
        let mut link_rows = String::new();
        for n in start..end {
            let id = backroom::domain::ids::new_id("prod");
            let variant = backroom::domain::ids::new_id("var");
            let title = format!("{} {} {n}", ADJECTIVES[n % 10], NOUNS[(n / 10) % 10]);
            let slug = title.to_lowercase().replace(' ', "-");
            let description = format!("A well made {} for everyday use.", NOUNS[(n / 10) % 10].to_lowercase());
            let separator = if n == start { "" } else { "," };
            let _ = write!(
                product_rows,
                "{separator}('{id}', '{slug}', '{title}', '{description}', 'published', '[]', {now}, {now})"
            );
            let _ = write!(
                variant_rows,
                "{separator}('{variant}', '{id}', 'SKU-{n}', 'Default', {}, 'EUR', '{{}}', {STOCK}, 0, 0, {now}, {now})",
                500 + (n % 50) * 100
            );
            let _ = write!(link_rows, "{separator}('{id}', 'cat_{}')", CATEGORIES[n % 5]);
            catalog.slugs.push(slug);
            catalog.variant_ids.push(variant);
        }
        db.run(format!(
            "INSERT INTO products (id, slug, title, description, status, images, created_at, updated_at) VALUES {product_rows};
             INSERT INTO variants (id, product_id, sku, title, price_amount, currency, options, on_hand, reserved, position, created_at, updated_at) VALUES {variant_rows};
             INSERT INTO product_categories (product_id, category_id) VALUES {link_rows};"
        ))
        .await?;
    }
    // Written past Backroom, so its search index is built as `backroom reindex` builds it.
    let store = backroom::store::Store::connect(url).await.map_err(|e| e.to_string())?;
    backroom::store::search::rebuild(&store)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    if let Db::Postgres(_) = db {
        db.run("ANALYZE".to_owned()).await?;
    }
    Ok(catalog)
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
