//! The command line, run as a user would: `migrate`, `admin create`, and `serve --demo`
//! stopped with SIGTERM, on SQLite and (when configured) PostgreSQL.

use serde_json::json;
use tokio::process::Child;

use crate::support::process::{admin_create, backroom, start_server, stop_with_sigterm};
use crate::support::{PASSWORD, Shop};

async fn serve_demo(database_url: &str) -> (Child, Shop) {
    start_server(database_url, &["--demo"], &[]).await
}

async fn product_count(shop: &Shop) -> usize {
    let response = shop.get("/v1/products?limit=100", None).await;
    response.assert_status(200)["data"].as_array().expect("data").len()
}

async fn command_line(database_url: String) {
    // The folder of a SQLite file does not exist yet: migrate creates it.
    let url = match database_url.strip_suffix("/backroom.db") {
        Some(folder) if database_url.starts_with("sqlite:") => format!("{folder}/nested/backroom.db"),
        _ => database_url,
    };
    let migrate = backroom(&url).arg("migrate").output().await.expect("run migrate");
    assert!(
        migrate.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let again = backroom(&url).arg("migrate").output().await.expect("run migrate again");
    assert!(again.status.success(), "migrate is idempotent");
    let reindex = backroom(&url).arg("reindex").output().await.expect("run reindex");
    assert!(
        reindex.status.success(),
        "reindex: {}",
        String::from_utf8_lossy(&reindex.stderr)
    );

    let short = admin_create(&url, "boss@example.com", "short").await;
    assert!(!short.status.success(), "a short password is refused");
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password"),
        "and the error says why"
    );
    let created = admin_create(&url, "Boss@Example.com", PASSWORD).await;
    assert!(
        created.status.success(),
        "admin create: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let duplicate = admin_create(&url, "boss@example.com", PASSWORD).await;
    assert!(!duplicate.status.success(), "an email makes one account");

    let key = backroom(&url)
        .args(["apikey", "create", "--name", "warehouse", "--scope", "orders"])
        .output()
        .await
        .expect("run apikey create");
    assert!(
        key.status.success(),
        "apikey create: {}",
        String::from_utf8_lossy(&key.stderr)
    );
    let printed = String::from_utf8_lossy(&key.stdout).to_string();
    let key = printed.lines().last().expect("the key is printed").trim().to_owned();
    assert!(key.starts_with("bk_"), "{printed}");

    let (server, shop) = serve_demo(&url).await;
    assert!(product_count(&shop).await >= 30, "the demo catalog is loaded");
    shop.get("/v1/admin/orders", Some(&key)).await.assert_status(200);
    let categories = shop.get("/v1/categories", None).await;
    assert_eq!(categories.assert_status(200)["data"].as_array().expect("data").len(), 5);
    let login = shop
        .post(
            "/v1/auth/login",
            None,
            json!({"email": "boss@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.assert_status(200)["staff"]["role"], "admin");
    let admin = login.body["token"].as_str().expect("token").to_owned();
    let settings = shop.get("/v1/shop", None).await;
    assert_eq!(settings.assert_status(200)["currencies"], json!(["EUR", "USD"]));
    let in_dollars = shop.get("/v1/products?currency=USD&limit=100", None).await;
    for product in in_dollars.assert_status(200)["data"].as_array().expect("data") {
        for variant in product["variants"].as_array().expect("variants") {
            assert_eq!(
                variant["price"]["currency"], "USD",
                "every demo variant sells in dollars: {variant}"
            );
        }
    }
    assert_eq!(
        shipping_counts(&shop, &admin).await,
        (4, 11),
        "demo shipping options and tax rates"
    );
    let discounts = shop.get("/v1/admin/discounts", Some(&admin)).await;
    assert_eq!(discounts.assert_status(200)["data"][0]["code"], "WELCOME10");
    shop.get("/v1/pages/about-us", None).await.assert_status(200);
    let posts = shop.get("/v1/posts", None).await;
    assert_eq!(posts.assert_status(200)["data"].as_array().map(Vec::len), Some(2));
    let footer = shop.get("/v1/menus/footer", None).await;
    assert_eq!(footer.assert_status(200)["items"].as_array().map(Vec::len), Some(3));
    stop_with_sigterm(server).await;

    // A second start on the same database keeps the catalog and shipping as they are.
    let (server, shop) = serve_demo(&url).await;
    assert_eq!(product_count(&shop).await, 30);
    assert_eq!(shipping_counts(&shop, &admin).await, (4, 11));
    stop_with_sigterm(server).await;
}

/// A production shop refuses to start with the test provider, which takes no money, unless
/// told to allow it; Stripe without its keys is refused too, saying which are missing.
async fn production_refuses_payments_it_cannot_take(database_url: String) {
    let refused = |env: &'static [(&'static str, &'static str)]| {
        let mut command = backroom(&database_url);
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .envs(env.iter().copied());
        async move { command.output().await.expect("run serve") }
    };
    let test_provider = refused(&[("BACKROOM_ENV", "production")]).await;
    assert!(!test_provider.status.success());
    assert!(
        String::from_utf8_lossy(&test_provider.stderr).contains("BACKROOM_ALLOW_TEST_PAYMENTS"),
        "{}",
        String::from_utf8_lossy(&test_provider.stderr)
    );
    let keyless = refused(&[("BACKROOM_PAYMENT_PROVIDER", "stripe")]).await;
    assert!(!keyless.status.success());
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("BACKROOM_STRIPE_SECRET_KEY"));

    let allowed = [("BACKROOM_ENV", "production"), ("BACKROOM_ALLOW_TEST_PAYMENTS", "1")];
    let (server, shop) = start_server(&database_url, &[], &allowed).await;
    shop.get("/healthz", None).await.assert_status(200);
    stop_with_sigterm(server).await;
}

/// How many shipping options and tax rates the shop has.
async fn shipping_counts(shop: &Shop, admin: &str) -> (usize, usize) {
    let mut counts = Vec::new();
    for path in ["/v1/admin/shipping-options", "/v1/admin/tax-rates"] {
        let list = shop.get(&format!("{path}?limit=100"), Some(admin)).await;
        counts.push(list.assert_status(200)["data"].as_array().expect("data").len());
    }
    (counts[0], counts[1])
}

crate::database_tests!(command_line, production_refuses_payments_it_cannot_take);
