//! Migrations: the two dialects stay in step, and a database made by an older build
//! upgrades with its data.

use std::path::Path;

use backroom::server::ServerOptions;
use serde_json::{Value, json};
use sqlx::migrate::Migrator;

use crate::support::{TestApp, id_of};

const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

/// What may differ between a SQLite migration and its PostgreSQL twin, as
/// `(sqlite, postgres)` spellings. Anything else is a drift between the dialects.
const TYPE_SPELLINGS: [(&str, &str); 1] = [("BLOB", "BYTEA")];

/// Lines between these markers hold what one dialect has and the other does without
/// (full-text indexes, extensions); each side's block is left out of the comparison.
const DIALECT_BLOCK: (&str, &str) = ("-- dialect-specific: begin", "-- dialect-specific: end");

fn migration_files(dialect: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(MIGRATIONS).join(dialect))
        .expect("read the migrations folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `sql` with dialect-specific blocks left out and the PostgreSQL spellings of
/// [`TYPE_SPELLINGS`] turned into SQLite's.
fn comparable(sql: &str) -> String {
    let mut kept = Vec::new();
    let mut in_block = false;
    for line in sql.lines() {
        match line.trim() {
            marker if marker == DIALECT_BLOCK.0 => in_block = true,
            marker if marker == DIALECT_BLOCK.1 => in_block = false,
            _ if !in_block => kept.push(line),
            _ => {}
        }
    }
    let mut text = kept.join("\n");
    for (sqlite, postgres) in TYPE_SPELLINGS {
        text = text.replace(postgres, sqlite);
    }
    text
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert_eq!(
        sqlite, postgres,
        "every migration exists for both databases, under one name"
    );
    for name in &sqlite {
        let read = |dialect: &str| {
            std::fs::read_to_string(Path::new(MIGRATIONS).join(dialect).join(name)).expect("read migration")
        };
        let (lite, pg) = (comparable(&read("sqlite")), comparable(&read("postgres")));
        let drift = lite
            .lines()
            .zip(pg.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(lite.lines().count().min(pg.lines().count()));
        assert!(
            lite == pg,
            "{name} differs between the dialects beyond the known type spellings, from its line {} \
             (put what only one database has between `{}` and `{}`)",
            drift + 1,
            DIALECT_BLOCK.0,
            DIALECT_BLOCK.1
        );
    }
}

#[test]
fn the_check_sees_drift() {
    assert_eq!(comparable("a BYTEA,\nb TEXT"), comparable("a BLOB,\nb TEXT"));
    assert_ne!(comparable("a TEXT"), comparable("a BIGINT"));
    let with_block = format!(
        "x\n{}\nCREATE EXTENSION pg_trgm;\n{}\ny",
        DIALECT_BLOCK.0, DIALECT_BLOCK.1
    );
    assert_eq!(comparable(&with_block), comparable("x\ny"));
}

/// The migrations as they stood before the layout change of issue 10: what a database
/// made by the last release holds.
const RELEASED: i64 = 2;

/// Applies the migrations of `dialect` up to [`RELEASED`] to `url`, and fills the
/// database as a shop of that time would have.
async fn migrate_as_released(url: &str, dialect: &str) {
    migrate_to(url, dialect, RELEASED, &RELEASED_DATA).await;
}

/// Applies the migrations of `dialect` up to `version` to `url`, then runs `data`.
async fn migrate_to(url: &str, dialect: &str, version: i64, data: &[&'static str]) {
    let migrator = Migrator::new(Path::new(MIGRATIONS).join(dialect))
        .await
        .expect("read the migrations");
    macro_rules! on {
        ($pool:expr) => {{
            let pool = $pool;
            migrator
                .run_to(version, &pool)
                .await
                .expect("migrations up to the version");
            for &statement in data {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|error| panic!("{statement}: {error}"));
            }
            pool.close().await;
        }};
    }
    if dialect == "sqlite" {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .expect("sqlite url")
            .create_if_missing(true);
        on!(sqlx::SqlitePool::connect_with(options).await.expect("connect"));
    } else {
        on!(sqlx::PgPool::connect(url).await.expect("connect"));
    }
}

/// What a shop on the released schema holds: a product with stock, and a checkout
/// whose process died after the provider captured it but before the order was written
/// (a `pending` attempt with no priced cart frozen on it, as attempts were then).
const RELEASED_DATA: [&str; 9] = [
    "INSERT INTO products (id, slug, title, description, status, search_text, images, created_at, updated_at)
     VALUES ('prod_legacy', 'legacy-lamp', 'Legacy Lamp', 'Made before the upgrade', 'published', 'legacy lamp',
             '[\"https://cdn.example.com/lamp.jpg\", \"/static/lamp-side.png\"]', 1, 1)",
    "INSERT INTO variants (id, product_id, sku, title, price_amount, currency, on_hand, reserved, position, created_at, updated_at)
     VALUES ('var_legacy', 'prod_legacy', 'LEGACY-1', 'Default', 2500, 'EUR', 5, 2, 0, 1, 1)",
    "INSERT INTO carts (id, currency, status, version, created_at, updated_at)
     VALUES ('cart_legacy', 'EUR', 'checking_out', 2, 1, 1)",
    "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at)
     VALUES ('item_legacy', 'cart_legacy', 'var_legacy', 2, 1)",
    "INSERT INTO payments (id, cart_id, email, currency, amount, status, payment_token, shipping_address,
                           created_at, updated_at, expires_at)
     VALUES ('pay_legacy', 'cart_legacy', 'old@example.com', 'EUR', 5000, 'pending', 'tok_visa',
             '{\"name\":\"Ada Lovelace\",\"line1\":\"12 St James''s Square\",\"city\":\"London\",\"postal_code\":\"SW1Y 4JH\",\"country\":\"GB\"}',
             1, 1, 2)",
    "INSERT INTO payment_lines (payment_id, position, variant_id, sku, title, quantity, unit_price_amount)
     VALUES ('pay_legacy', 0, 'var_legacy', 'LEGACY-1', 'Legacy Lamp', 2, 2500)",
    "INSERT INTO test_provider_charges (idempotency_key, kind, payment_token, amount, currency, outcome, created_at)
     VALUES ('pay_legacy', 'capture', 'tok_visa', 5000, 'EUR', 'captured', 1)",
    "UPDATE counters SET value = 1041 WHERE name = 'order_number'",
    // What else the `images` column may hold: strings among other values, and no JSON.
    "INSERT INTO products (id, slug, title, description, status, search_text, images, created_at, updated_at)
     VALUES ('prod_mixed', 'mixed-images', 'Mixed Images', '', 'published', '', '[\"/a.jpg\", 1, null, \"\", \"/b.jpg\"]', 1, 1),
            ('prod_broken', 'broken-images', 'Broken Images', '', 'published', '', 'not json', 1, 1),
            ('prod_object', 'object-images', 'Object Images', '', 'published', '', '{\"u\": \"/c.jpg\"}', 1, 1)",
];

/// A database made by the released migrations, with a product and a half-finished
/// checkout in it, is upgraded by the server's start; the product keeps its stock and
/// the checkout becomes the order it paid for, priced as it was.
async fn a_released_database_upgrades_with_its_data(url: String) {
    let dialect = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    migrate_as_released(&url, dialect).await;

    let app = TestApp::start(&url, ServerOptions::for_tests()).await;
    let product = app.get("/v1/products/legacy-lamp", None).await;
    assert_eq!(product.assert_status(200)["variants"][0]["available"], 3);
    // Migration 0014 indexed the products there were, words and SKUs, typos included.
    for q in ["legacy", "LEGACY-1", "upgrade", "lagacy"] {
        let found = app.get(&format!("/v1/products?q={q}"), None).await;
        assert_eq!(found.assert_status(200)["data"][0]["id"], "prod_legacy", "q={q}");
    }

    // Migration 0016 kept the images given as URLs, in order, as linked images.
    let images = product.body["images"].as_array().expect("images");
    let linked: Vec<(&Value, &Value, &Value)> = images
        .iter()
        .map(|image| (&image["url"], &image["width"], &image["alt"]))
        .collect();
    assert_eq!(
        linked,
        [
            (&json!("https://cdn.example.com/lamp.jpg"), &Value::Null, &json!("")),
            (&json!("/static/lamp-side.png"), &Value::Null, &json!(""))
        ]
    );
    assert!(images.iter().all(|image| {
        image["id"]
            .as_str()
            .is_some_and(|id| id.len() == 36 && id.starts_with("img_"))
    }));
    for (slug, expected) in [
        ("mixed-images", vec!["/a.jpg", "/b.jpg"]),
        ("broken-images", vec![]),
        ("object-images", vec![]),
    ] {
        let product = app.get(&format!("/v1/products/{slug}"), None).await;
        let urls: Vec<&str> = product.assert_status(200)["images"]
            .as_array()
            .expect("images")
            .iter()
            .map(|image| image["url"].as_str().expect("url"))
            .collect();
        assert_eq!(urls, expected, "{slug}: only the URLs, in order");
    }

    app.run_jobs().await;
    let staff = app.staff_token().await;
    let orders = app.all_orders(&staff).await;
    assert_eq!(orders.len(), 1, "the captured checkout became its order");
    let order = &orders[0];
    assert_eq!(order["number"], 1042);
    assert_eq!(order["email"], "old@example.com");
    assert_eq!(order["total"], json!({"amount": 5000, "currency": "EUR"}));
    assert_eq!(
        order["items"][0]["line_total"],
        json!({"amount": 5000, "currency": "EUR"})
    );
    assert_eq!(order["payment"]["id"], "pay_legacy");
    assert_eq!(
        app.stock(&staff, "var_legacy").await,
        (3, 0, 3),
        "the reservation became a sale"
    );
    assert_eq!(app.captures().await, 1, "recovery charged nothing again");

    // A process of the released build, still running beside the upgraded one, takes an
    // order number from the counter row as it did (1043).
    app.store
        .execute_unchecked("UPDATE counters SET value = value + 1 WHERE name = 'order_number'".to_owned())
        .await
        .expect("the released build's order number");

    // The upgraded shop sells on: the new schema's checkout works on the old rows, and
    // its order number is not the one the released build just took.
    let (customer, _) = app.register("new@example.com").await;
    let cart = app.cart_with(Some(&customer), "var_legacy", 1).await;
    let order = app.checkout(Some(&customer), &id_of(&cart), "tok_visa").await;
    assert_eq!(order.assert_status(201)["total"]["amount"], 2500);
    assert_eq!(order.body["number"], 1044);
    assert_eq!(app.stock(&staff, "var_legacy").await, (2, 0, 2));
}

/// Discount uses as migration 0009 landed them, one key per customer: an account's id,
/// or a guest's email. Two discounts, each used once by the released shop's payment.
const USES_OF_0009: [&str; 3] = [
    "INSERT INTO discounts (id, code, code_key, description, kind, percentage_bps, usage_limit_per_customer,
                            product_ids, category_ids, combinable, active, times_used, created_at, updated_at)
     VALUES ('dsc_guest', 'GUEST', 'guest', '10 % off', 'percentage', 1000, 1, '[]', '[]', FALSE, TRUE, 1, 1, 1),
            ('dsc_account', 'ACCOUNT', 'account', '10 % off', 'percentage', 1000, 1, '[]', '[]', FALSE, TRUE, 1, 1, 1)",
    "INSERT INTO discount_uses (discount_id, payment_id, order_id, customer_key, amount, created_at)
     VALUES ('dsc_guest', 'pay_legacy', NULL, 'old@example.com', 500, 1)",
    "INSERT INTO discount_uses (discount_id, payment_id, order_id, customer_key, amount, created_at)
     VALUES ('dsc_account', 'pay_legacy', NULL, 'cus_legacy', 500, 1)",
];

/// A database whose discount uses have the one key of migration 0009 keeps them on
/// upgrade: the account's id where the key was one, and every use's email from its payment.
async fn discount_uses_keep_their_customer_and_email_on_upgrade(url: String) {
    let dialect = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    migrate_as_released(&url, dialect).await;
    migrate_to(&url, dialect, 11, &USES_OF_0009).await;
    let app = TestApp::start(&url, ServerOptions::for_tests()).await;
    let query = "SELECT discount_id, customer_id, email FROM discount_uses ORDER BY discount_id";
    let uses: Vec<(String, Option<String>, String)> = if dialect == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
        sqlx::query_as(query).fetch_all(&pool).await.expect("read the uses")
    } else {
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        sqlx::query_as(query).fetch_all(&pool).await.expect("read the uses")
    };
    assert_eq!(
        uses,
        vec![
            (
                "dsc_account".to_owned(),
                Some("cus_legacy".to_owned()),
                "old@example.com".to_owned()
            ),
            ("dsc_guest".to_owned(), None, "old@example.com".to_owned()),
        ]
    );
    // The guest's one use still counts: the code is used up for that email.
    let cart = app.cart_with(None, "var_legacy", 1).await;
    let cart_id = id_of(&cart);
    app.patch(
        &format!("/v1/carts/{cart_id}"),
        None,
        json!({"email": "Old@Example.com"}),
    )
    .await
    .assert_status(200);
    let refused = app
        .post(
            &format!("/v1/carts/{cart_id}/discount-codes"),
            None,
            json!({"code": "GUEST"}),
        )
        .await;
    refused.assert_problem(422, "discount_invalid");
    assert_eq!(refused.body["reason"], "used_up");
}

crate::database_tests!(
    a_released_database_upgrades_with_its_data,
    discount_uses_keep_their_customer_and_email_on_upgrade,
);
