//! Operations endpoints: health, readiness, metrics, the OpenAPI document and the docs page.

use crate::support::*;

async fn healthz_answers_ok(app: TestApp) {
    app.get("/healthz", None).await.assert_status(200);
}

async fn readyz_answers_ok_when_database_is_migrated(app: TestApp) {
    app.get("/readyz", None).await.assert_status(200);
}

async fn metrics_count_requests_checkouts_and_pool_use(app: TestApp) {
    app.get("/healthz", None).await.assert_status(200);
    let staff = app.staff_token().await;
    app.paid_order(&staff, None, 500, 1, 3).await;
    let metrics = app.get("/metrics", None).await;
    metrics.assert_status(200);
    for expected in [
        "backroom_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "backroom_http_request_duration_seconds_bucket",
        "backroom_checkouts_total{outcome=\"paid\"}",
        "backroom_db_pool_connections{state=\"idle\"}",
    ] {
        assert!(
            metrics.text.contains(expected),
            "metrics expose {expected}:\n{}",
            metrics.text
        );
    }
    if app.store.backend_name() == "sqlite" {
        let busy = metrics
            .text
            .lines()
            .find_map(|line| line.strip_prefix("backroom_db_writer_busy_seconds "))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("the writer's busy time on SQLite:\n{}", metrics.text));
        assert!(busy > 0.0, "the paid order's writes held the writer: {busy}");
    }
}

/// Every endpoint of the contract, as `(method, OpenAPI path template)`.
const CONTRACT_OPERATIONS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/me"),
    ("get", "/v1/products"),
    ("get", "/v1/products/{id_or_slug}"),
    ("get", "/v1/categories"),
    ("post", "/v1/carts"),
    ("get", "/v1/carts/{id}"),
    ("post", "/v1/carts/{id}/items"),
    ("patch", "/v1/carts/{id}/items/{item_id}"),
    ("delete", "/v1/carts/{id}/items/{item_id}"),
    ("post", "/v1/carts/{id}/checkout"),
    ("get", "/v1/orders"),
    ("get", "/v1/orders/{id}"),
    ("get", "/v1/orders/{id}/events"),
    ("post", "/v1/admin/products"),
    ("patch", "/v1/admin/products/{id}"),
    ("post", "/v1/admin/products/{id}/variants"),
    ("post", "/v1/admin/categories"),
    ("post", "/v1/admin/inventory/{variant_id}/adjust"),
    ("get", "/v1/admin/orders"),
    ("get", "/v1/admin/orders/{id}"),
    ("post", "/v1/admin/orders/{id}/fulfill"),
    ("post", "/v1/admin/orders/{id}/cancel"),
    ("post", "/v1/admin/orders/{id}/refund"),
    ("get", "/v1/admin/events"),
];

async fn openapi_document_is_3_1_and_describes_every_contract_endpoint(app: TestApp) {
    let document = app.get("/openapi.json", None).await.assert_status(200).clone();
    let version = document["openapi"].as_str().expect("`openapi` version string");
    assert!(version.starts_with("3.1"), "OpenAPI 3.1, got {version}");
    let paths = document["paths"].as_object().expect("`paths` object");
    let missing: Vec<String> = CONTRACT_OPERATIONS
        .iter()
        .filter(|(method, path)| paths.get(*path).and_then(|item| item.get(*method)).is_none())
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "the OpenAPI document lacks {missing:?}; it has {:?}",
        paths.keys().collect::<Vec<_>>()
    );
}

async fn docs_page_is_html(app: TestApp) {
    let docs = app.get("/docs", None).await;
    docs.assert_status(200);
    let content_type = docs.header("content-type").expect("content-type");
    assert!(
        content_type.starts_with("text/html"),
        "docs are HTML, got {content_type}"
    );
}

crate::backend_tests!(
    healthz_answers_ok,
    readyz_answers_ok_when_database_is_migrated,
    metrics_count_requests_checkouts_and_pool_use,
    openapi_document_is_3_1_and_describes_every_contract_endpoint,
    docs_page_is_html,
);

/// `docs/openapi.json` is the document the code generates; regenerate it with
/// `BACKROOM_WRITE_OPENAPI=1 cargo test --test api openapi_document`.
#[test]
fn committed_openapi_document_is_current() {
    let generated = backroom::http::openapi::document()
        .to_pretty_json()
        .expect("serialize the document")
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var_os("BACKROOM_WRITE_OPENAPI").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs folder")).expect("create docs/");
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `BACKROOM_WRITE_OPENAPI=1 cargo test --test api openapi_document` and commit it"
    );
}

/// A server started on a database that was never migrated is up but not ready.
async fn readyz_is_503_before_migrations(database_url: String) {
    let store = backroom::store::Store::connect(&database_url).await.expect("connect");
    let options = backroom::server::ServerOptions::for_tests();
    let server = backroom::server::Server::bind("127.0.0.1:0".parse().expect("addr"), store, options)
        .await
        .expect("bind");
    let shop = Shop::new(format!("http://{}", server.local_addr()));
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = stop.clone();
    let running = tokio::spawn(server.run(async move { signal.notified().await }));

    let health = shop.get("/healthz", None).await;
    let ready = shop.get("/readyz", None).await;
    stop.notify_one();
    let _ = running.await;
    assert_eq!(health.status, 200);
    ready.assert_problem(503, "not_ready");
}

mod unmigrated {
    use super::readyz_is_503_before_migrations;
    crate::database_tests!(readyz_is_503_before_migrations);
}
