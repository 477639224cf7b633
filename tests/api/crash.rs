//! Crash safety: `backroom serve` dies (as if by SIGKILL) at each step of checkout, is
//! restarted as two processes on the same database, and every time the shop ends with the
//! right outcome: a paid order with exactly one capture, or no order, no capture and the
//! stock released. A retry with the first request's Idempotency-Key then gets that order,
//! or runs anew.
//!
//! The fault is armed by `BACKROOM_TEST_FAULT`, read only by `serve` (see `src/faults.rs`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{admin_create, start_server};
use crate::helpers::{PASSWORD, TestDatabase, checkout_body, read};

/// Short timings so the recovery job acts within the test.
const FAST: [&str; 8] = [
    "--reservation-secs",
    "2",
    "--provider-timeout-secs",
    "1",
    "--idempotency-abandon-secs",
    "2",
    "--jobs-interval-ms",
    "100",
];

struct Shop {
    base: String,
    client: reqwest::Client,
}

impl Shop {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Value,
    ) -> reqwest::Result<crate::helpers::Response> {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        Ok(read(request.send().await?).await)
    }

    async fn get(&self, path: &str, token: &str) -> crate::helpers::Response {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        read(response).await
    }

    async fn stock(&self, staff: &str, variant_id: &str) -> (i64, i64) {
        let adjust = json!({"delta": 0, "reason": "count"});
        let response = self
            .post(
                &format!("/v1/admin/inventory/{variant_id}/adjust"),
                Some(staff),
                None,
                adjust,
            )
            .await;
        let body = response.expect("stock").assert_status(200).clone();
        (
            body["on_hand"].as_i64().expect("on_hand"),
            body["reserved"].as_i64().expect("reserved"),
        )
    }

    async fn orders(&self, staff: &str) -> Vec<Value> {
        self.get("/v1/admin/orders", staff).await.assert_status(200)["data"]
            .as_array()
            .expect("orders")
            .clone()
    }
}

async fn captures(database_url: &str) -> i64 {
    let store = backroom::store::Store::connect(database_url).await.expect("connect");
    let captures = backroom::store::test_provider::count_captures(&store)
        .await
        .expect("count");
    store.close().await;
    captures
}

/// Polls `condition` every 100 ms for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 15 s");
}

async fn crash_during_checkout(database_url: String, fault: &'static str) {
    assert!(
        admin_create(&database_url, "boss@example.com", PASSWORD)
            .await
            .status
            .success()
    );
    let (mut doomed, base) = start_server(&database_url, &FAST, &[("BACKROOM_TEST_FAULT", fault)]).await;
    let shop = Shop {
        base,
        client: reqwest::Client::new(),
    };
    let login = json!({"email": "boss@example.com", "password": PASSWORD});
    let staff = shop
        .post("/v1/auth/login", None, None, login)
        .await
        .expect("login")
        .assert_status(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let product = json!({"title": "Last Lantern", "status": "published",
        "variants": [{"sku": "LANTERN-1", "price": {"amount": 4500, "currency": "EUR"}, "inventory": 3}]});
    let product = shop
        .post("/v1/admin/products", Some(&staff), None, product)
        .await
        .expect("product");
    let variant_id = product.assert_status(201)["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    let cart = shop
        .post("/v1/carts", None, None, json!({}))
        .await
        .expect("cart")
        .assert_status(201)["id"]
        .as_str()
        .expect("cart id")
        .to_owned();
    let line = json!({"variant_id": variant_id, "quantity": 1});
    shop.post(&format!("/v1/carts/{cart}/items"), None, None, line)
        .await
        .expect("add")
        .assert_status(200);

    let checkout_path = format!("/v1/carts/{cart}/checkout");
    let died = shop
        .post(&checkout_path, None, Some("crash-key"), checkout_body("tok_visa"))
        .await;
    assert!(
        died.is_err(),
        "the server dies mid-checkout instead of answering: {:?}",
        died.map(|r| r.status)
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), doomed.wait())
        .await
        .expect("it exits")
        .expect("wait");
    assert!(!exit.success(), "the process was killed, not stopped");

    // Two processes come back on the same database; both run the recovery job.
    let (first, first_base) = start_server(&database_url, &FAST, &[]).await;
    let (second, _) = start_server(&database_url, &FAST, &[]).await;
    let shop = Shop {
        base: first_base,
        client: reqwest::Client::new(),
    };

    let paid = fault != "after_reservation";
    if paid {
        eventually("the order placed by recovery", || async {
            shop.orders(&staff).await.len() == 1
        })
        .await;
        assert_eq!(
            shop.stock(&staff, &variant_id).await,
            (2, 0),
            "the unit is sold, not reserved"
        );
    } else {
        eventually("the reservation released", || async {
            shop.stock(&staff, &variant_id).await == (3, 0)
        })
        .await;
        assert!(shop.orders(&staff).await.is_empty(), "no order");
    }
    assert_eq!(captures(&database_url).await, i64::from(paid), "one capture, or none");

    // The client retries with its key: it gets the order, or the checkout runs anew.
    let mut retry = None;
    for _ in 0..100 {
        let response = shop
            .post(&checkout_path, None, Some("crash-key"), checkout_body("tok_visa"))
            .await
            .expect("retry");
        if response.status != 409 {
            retry = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let retry = retry.expect("the abandoned key is released");
    retry.assert_status(201);
    let orders = shop.orders(&staff).await;
    assert_eq!(orders.len(), 1, "still one order");
    assert_eq!(retry.body["id"], orders[0]["id"]);
    assert_eq!(captures(&database_url).await, 1, "one capture in the end");
    assert_eq!(shop.stock(&staff, &variant_id).await, (2, 0));

    for server in [first, second] {
        let mut server = server;
        let _ = server.start_kill();
        let _ = server.wait().await;
    }
}

async fn on_both_databases(fault: &'static str) {
    let sqlite = TestDatabase::sqlite();
    crash_during_checkout(sqlite.url.clone(), fault).await;
    match TestDatabase::postgres().await {
        None => eprintln!("skipping PostgreSQL leg: BACKROOM_TEST_POSTGRES_URL is not set"),
        Some(postgres) => {
            let outcome = tokio::spawn(crash_during_checkout(postgres.url.clone(), fault)).await;
            postgres.drop_database().await;
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_reservation_releases_the_stock() {
    on_both_databases("after_reservation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_capture_still_places_the_order() {
    on_both_databases("after_capture").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_the_response_keeps_the_order_for_the_retry() {
    on_both_databases("before_response").await;
}
