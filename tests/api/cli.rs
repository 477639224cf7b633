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
    let mug = shop.get("/v1/products/enamel-camp-mug", None).await;
    let picture = mug.assert_status(200)["images"][0].clone();
    assert_eq!(picture["alt"], "Enamel Camp Mug", "every demo product has its picture");
    let served = shop
        .client
        .get(shop.url(picture["url"].as_str().expect("url")))
        .send()
        .await
        .expect("fetch the picture");
    assert_eq!(served.headers()["content-type"], "image/jpeg");
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

/// `backroom import FILE.csv` loads a Shopify product CSV as the API does, says what it
/// did, and exits non-zero naming the rows it refused.
async fn import_loads_a_shopify_csv(database_url: String) {
    let folder = std::env::temp_dir().join(format!("backroom-import-{}", crate::support::database::unique_suffix()));
    std::fs::create_dir_all(&folder).expect("folder");
    let file = folder.join("products.csv");
    std::fs::write(
        &file,
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Status\n\
         cli-lamp,CLI Lamp,Title,Default Title,CLI-LAMP,30.00,5,active\n\
         cli-stool,CLI Stool,Title,Default Title,CLI-STOOL,45.50,2,active\n",
    )
    .expect("write the file");
    let imported = backroom(&database_url)
        .arg("import")
        .arg(&file)
        .output()
        .await
        .expect("run import");
    let said = String::from_utf8_lossy(&imported.stdout).to_string();
    assert!(
        imported.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(said.contains("2 products created, 0 updated, 0 rows refused"), "{said}");

    std::fs::write(
        &file,
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n\
         cli-lamp,CLI Lamp,Title,Default Title,CLI-LAMP,32.00\n\
         cli-bad,CLI Bad,Title,Default Title,CLI-BAD,free\n",
    )
    .expect("write the file");
    let refused = backroom(&database_url)
        .arg("import")
        .arg(&file)
        .output()
        .await
        .expect("run import");
    let said = String::from_utf8_lossy(&refused.stdout).to_string();
    assert!(!refused.status.success(), "a refused row fails the command");
    assert!(
        said.contains("1 updated, 1 rows refused") && said.contains("line 3: Variant Price \"free\""),
        "{said}"
    );

    let (server, shop) = start_server(&database_url, &[], &[]).await;
    let lamp = shop.get("/v1/products/cli-lamp", None).await;
    assert_eq!(lamp.assert_status(200)["variants"][0]["price"]["amount"], 3200);
    shop.get("/v1/products/cli-bad", None)
        .await
        .assert_problem(404, "not_found");
    stop_with_sigterm(server).await;
    let _ = std::fs::remove_dir_all(folder);
}

crate::database_tests!(
    command_line,
    production_refuses_payments_it_cannot_take,
    import_loads_a_shopify_csv
);
