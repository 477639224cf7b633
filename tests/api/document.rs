//! The OpenAPI document holds to what the server does: Redocly's recommended rules pass,
//! every documented limit is the server's, and every documented 304 is answered.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestApp, read, unique_email, unique_sku};

/// Redocly's CLI (installed by `npm ci --prefix tests/browser`) lints the committed
/// document with its recommended rules: no error, no warning. Skipped, saying so, where
/// the CLI is missing, unless `BACKROOM_REQUIRE_LINT=1` (CI) makes that a failure.
#[test]
fn the_document_passes_redocly_lint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let redocly = root.join("tests/browser/node_modules/.bin/redocly");
    if !redocly.exists() {
        assert!(
            !std::env::var("BACKROOM_REQUIRE_LINT").is_ok_and(|value| value == "1"),
            "BACKROOM_REQUIRE_LINT=1 but {} is missing: run `npm ci --prefix tests/browser`",
            redocly.display()
        );
        crate::support::skipped("the OpenAPI lint: Redocly's CLI is not installed (npm ci --prefix tests/browser)");
        return;
    }
    let output = Command::new(&redocly)
        .args([
            "lint",
            "--extends=recommended",
            "--max-problems=50",
            "docs/openapi.json",
        ])
        .current_dir(root)
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .output()
        .expect("run redocly");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "redocly lint failed:\n{report}");
    assert!(
        report.contains("Your API description is valid"),
        "redocly lint reported problems:\n{report}"
    );
    assert!(!report.contains("You have"), "redocly lint warned:\n{report}");
}

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status, 200);
    response.body.clone()
}

fn schema_property<'a>(document: &'a Value, schema: &str, property: &str) -> &'a Value {
    &document["components"]["schemas"][schema]["properties"][property]
}

fn number(value: &Value) -> i64 {
    value.as_i64().expect("a documented limit")
}

/// Every list's documented `limit` range, at its edges, on the server: the edge is taken
/// and one past it refused with 422.
async fn every_documented_limit_is_the_servers(app: TestApp) {
    let document = document(&app).await;
    let staff = app.staff_token().await;
    let (customer, _) = app.customer().await;
    let mut lists = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        let Some(parameters) = item["get"]["parameters"].as_array() else {
            continue;
        };
        let Some(limit) = parameters.iter().find(|p| p["name"] == "limit") else {
            continue;
        };
        if path.contains('{') {
            continue;
        }
        let token = if path.starts_with("/v1/admin/") {
            Some(staff.as_str())
        } else if path == "/v1/orders" {
            Some(customer.as_str())
        } else {
            None
        };
        let (minimum, maximum) = (number(&limit["schema"]["minimum"]), number(&limit["schema"]["maximum"]));
        for (value, expected) in [(minimum, 200), (maximum, 200), (minimum - 1, 422), (maximum + 1, 422)] {
            let answer = app.get(&format!("{path}?limit={value}"), token).await;
            assert_eq!(answer.status, expected, "GET {path}?limit={value}: {}", answer.text);
        }
        lists += 1;
    }
    assert!(lists >= 10, "the lists were found ({lists})");

    // A line's quantity.
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let quantity = schema_property(&document, "AddItemRequest", "quantity");
    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201)["id"]
        .as_str()
        .expect("cart id")
        .to_owned();
    let items = format!("/v1/carts/{cart}/items");
    for (value, expected) in [
        (number(&quantity["minimum"]) - 1, 422),
        (number(&quantity["maximum"]) + 1, 422),
        (number(&quantity["maximum"]), 200),
    ] {
        let answer = app
            .post(&items, None, json!({"variant_id": variant, "quantity": value}))
            .await;
        assert_eq!(answer.status, expected, "quantity {value}: {}", answer.text);
    }

    // A product's title, counted in characters.
    let title = schema_property(&document, "NewProductRequest", "title");
    let longest = usize::try_from(number(&title["maxLength"])).expect("length");
    for (length, expected) in [(longest, 201), (longest + 1, 422)] {
        let body = json!({
            "title": "é".repeat(length),
            "variants": [{"sku": unique_sku(), "title": "Default", "price": {"amount": 100, "currency": "EUR"}}],
        });
        let answer = app.post("/v1/admin/products", Some(&staff), body).await;
        assert_eq!(answer.status, expected, "a title of {length}: {}", answer.text);
    }

    // A password's shortest.
    let password = schema_property(&document, "RegisterRequest", "password");
    let shortest = usize::try_from(number(&password["minLength"])).expect("length");
    for (length, expected) in [(shortest - 1, 422), (shortest, 201)] {
        let body = json!({"email": unique_email("limits"), "password": "p".repeat(length)});
        let answer = app.post("/v1/auth/register", None, body).await;
        assert_eq!(answer.status, expected, "a password of {length}: {}", answer.text);
    }

    // The Idempotency-Key's longest, on the first POST that documents it.
    let key = document["paths"]["/v1/carts"]["post"]["parameters"]
        .as_array()
        .and_then(|parameters| parameters.iter().find(|p| p["name"] == "Idempotency-Key"))
        .expect("the Idempotency-Key is documented");
    let longest = usize::try_from(number(&key["schema"]["maxLength"])).expect("length");
    for (length, expected) in [(longest, 201), (longest + 1, 400)] {
        let answer = app
            .post_idempotent("/v1/carts", None, &"k".repeat(length), json!({}))
            .await;
        assert_eq!(answer.status, expected, "a key of {length}: {}", answer.text);
    }
    let answer = app.post_idempotent("/v1/carts", None, "with space", json!({})).await;
    assert_eq!(answer.status, 400, "the pattern allows visible ASCII only");
}

/// Every read documented with a 304 answers it to its own ETag.
async fn every_documented_conditional_read_answers_304(app: TestApp) {
    let document = document(&app).await;
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1000, 5).await;
    let content =
        json!({"title": format!("Conditional {}", unique_sku()), "body_markdown": "Hi.", "status": "published"});
    let page = app
        .post("/v1/admin/pages", Some(&staff), content.clone())
        .await
        .assert_status(201)
        .clone();
    let post = app
        .post("/v1/admin/posts", Some(&staff), content)
        .await
        .assert_status(201)
        .clone();
    app.put(
        "/v1/admin/menus/footer",
        Some(&staff),
        json!({"items": [{"label": "About", "url": "/pages/about"}]}),
    )
    .await
    .assert_status(200);
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        if item["get"]["responses"].get("304").is_none() {
            continue;
        }
        let concrete = path
            .replace("{id_or_slug}", product["slug"].as_str().expect("slug"))
            .replace("{slug}", {
                let of = if path.starts_with("/v1/pages") { &page } else { &post };
                of["slug"].as_str().expect("slug")
            })
            .replace("{handle}", "footer");
        let first = read(app.client.get(app.url(&concrete)).send().await.expect("read")).await;
        assert_eq!(first.status, 200, "GET {concrete}: {}", first.text);
        let etag = first.header("etag").expect("an ETag").to_owned();
        let again = app
            .client
            .get(app.url(&concrete))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("revalidate");
        assert_eq!(again.status(), 304, "GET {concrete} with its ETag");
        checked.push(path.clone());
    }
    let mut expected: Vec<String> = backroom::http::openapi::CONDITIONAL_READS
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    expected.sort();
    checked.sort();
    assert_eq!(checked, expected);
}

crate::backend_tests!(
    every_documented_limit_is_the_servers,
    every_documented_conditional_read_answers_304,
);
