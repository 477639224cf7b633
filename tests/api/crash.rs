//! Crash safety: `backroom serve` dies (as if by SIGKILL) at each step of checkout, is
//! restarted as two processes on the same database, and every time the shop ends with the
//! right outcome: a paid order with exactly one capture, or no order, no capture and the
//! stock released. A retry with the first request's Idempotency-Key then gets that order,
//! or runs anew.
//!
//! The fault is armed by `BACKROOM_TEST_FAULT`, read only by `serve` (see `src/faults.rs`).
//! Instead of waiting for the reservation and the key's claim to lapse, the test ages them
//! and runs the recovery job itself, beside the restarted processes' own.

use std::time::Duration;

use backroom::server::ServerOptions;
use serde_json::json;
use tokio::process::Child;

use crate::support::fake_stripe::{FakeStripe, SECRET_KEY, WEBHOOK_SECRET};
use crate::support::process::{admin_create, start_server};
use crate::support::{PASSWORD, Response, Shop, TestApp, checkout_body, id_of};

/// Long enough for any reservation or idempotency claim to have lapsed.
const A_DAY: i64 = 24 * 60 * 60;

/// A server armed to die at `fault`, a staff token, and the variant of a published lantern
/// with 3 units at 45.00 EUR.
async fn lantern_shop_doomed_at(database_url: &str, fault: &'static str) -> (Child, Shop, String, String) {
    assert!(
        admin_create(database_url, "boss@example.com", PASSWORD)
            .await
            .status
            .success()
    );
    let (doomed, shop) = start_server(database_url, &[], &[("BACKROOM_TEST_FAULT", fault)]).await;
    let staff = shop.login("boss@example.com", PASSWORD).await;
    let product = json!({"title": "Last Lantern", "status": "published",
        "variants": [{"sku": "LANTERN-1", "price": {"amount": 4500, "currency": "EUR"}, "inventory": 3}]});
    let product = shop.post("/v1/admin/products", Some(&staff), product).await;
    let variant_id = product.assert_status(201)["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    (doomed, shop, staff, variant_id)
}

async fn crash_during_checkout(database_url: String, fault: &'static str) {
    let (mut doomed, shop, staff, variant_id) = lantern_shop_doomed_at(&database_url, fault).await;
    let cart = id_of(shop.post("/v1/carts", None, json!({})).await.assert_status(201));
    let line = json!({"variant_id": variant_id, "quantity": 1});
    shop.post(&format!("/v1/carts/{cart}/items"), None, line)
        .await
        .assert_status(200);
    // The cart holds the one use of a code: the crash must neither lose it nor keep it.
    let discount =
        json!({"code": "LASTONE", "kind": "fixed_amount", "amount": 500, "currency": "EUR", "usage_limit": 1});
    let discount = id_of(
        shop.post("/v1/admin/discounts", Some(&staff), discount)
            .await
            .assert_status(201),
    );
    shop.post(
        &format!("/v1/carts/{cart}/discount-codes"),
        None,
        json!({"code": "LASTONE"}),
    )
    .await
    .assert_status(200);

    let checkout_path = format!("/v1/carts/{cart}/checkout");
    let died = checkout_with_the_key(&shop, &checkout_path).await;
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

    // Two processes come back on the same database; both run the recovery job. A day
    // passes for the dead request's reservation and key, and recovery runs once more.
    let (first, shop) = start_server(&database_url, &[], &[]).await;
    let (second, _) = start_server(&database_url, &[], &[]).await;
    let recovery = TestApp::start(&database_url, ServerOptions::for_tests()).await;
    recovery.age("payments", "expires_at", A_DAY).await;
    recovery.age("idempotency_keys", "started_at", A_DAY).await;
    recovery.run_jobs().await;

    let paid = fault != "after_reservation";
    if paid {
        assert_eq!(shop.all_orders(&staff).await.len(), 1, "the order placed by recovery");
        assert_eq!(
            shop.stock(&staff, &variant_id).await,
            (2, 0, 2),
            "the unit is sold, not reserved"
        );
    } else {
        assert_eq!(
            shop.stock(&staff, &variant_id).await,
            (3, 0, 3),
            "the reservation released"
        );
        assert!(shop.all_orders(&staff).await.is_empty(), "no order");
    }
    assert_eq!(recovery.captures().await, i64::from(paid), "one capture, or none");
    assert_eq!(
        times_used(&shop, &staff, &discount).await,
        i64::from(paid),
        "the use kept by the order, or given back"
    );

    // The client retries with its key: it gets the order, or the checkout runs anew.
    let retry = checkout_with_the_key(&shop, &checkout_path).await.expect("retry");
    retry.assert_status(201);
    let orders = shop.all_orders(&staff).await;
    assert_eq!(orders.len(), 1, "still one order");
    assert_eq!(retry.body["id"], orders[0]["id"]);
    assert_eq!(recovery.captures().await, 1, "one capture in the end");
    assert_eq!(shop.stock(&staff, &variant_id).await, (2, 0, 2));
    assert_eq!(
        retry.body["total"],
        json!({"amount": 4000, "currency": "EUR"}),
        "with the discount"
    );
    assert_eq!(times_used(&shop, &staff, &discount).await, 1);

    for server in [first, second] {
        let mut server = server;
        let _ = server.start_kill();
        let _ = server.wait().await;
    }
}

/// With Stripe: the process dies after Stripe charged and answered, before the order is
/// written. Restarted, the recovery job asks Stripe for the intent (whose id was kept
/// before the charge) and places the order; the retry gets it; Stripe charged once.
async fn crash_after_stripes_answer_places_one_order_and_charges_once(database_url: String) {
    let stripe = FakeStripe::start().await;
    let provider = [
        ("BACKROOM_PAYMENT_PROVIDER", "stripe"),
        ("BACKROOM_STRIPE_SECRET_KEY", SECRET_KEY),
        ("BACKROOM_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("BACKROOM_STRIPE_API_BASE", stripe.url.as_str()),
    ];
    let mut doomed_env = provider.to_vec();
    doomed_env.push(("BACKROOM_TEST_FAULT", "after_capture"));
    assert!(
        admin_create(&database_url, "boss@example.com", PASSWORD)
            .await
            .status
            .success()
    );
    let (mut doomed, shop) = start_server(&database_url, &[], &doomed_env).await;
    let staff = shop.login("boss@example.com", PASSWORD).await;
    let (_, variant_id) = shop.published_product(&staff, 4500, 3).await;
    let cart = id_of(&shop.cart_with(None, &variant_id, 1).await);
    let path = format!("/v1/carts/{cart}/checkout");
    let card = json!({"email": "buyer@example.com", "shipping_address": crate::support::address(),
        "payment": {"payment_method": "pm_card_visa"}});
    let died = shop
        .try_send(
            reqwest::Method::POST,
            &path,
            None,
            Some("stripe-crash"),
            Some(card.clone()),
        )
        .await;
    assert!(died.is_err(), "the server dies after Stripe's answer");
    let _ = tokio::time::timeout(Duration::from_secs(10), doomed.wait()).await;
    assert_eq!(stripe.all_captures(), 1, "Stripe charged before the crash");

    let (mut server, shop) = start_server(&database_url, &[], &provider).await;
    let mut options = ServerOptions::for_tests();
    options.payments.provider = stripe.provider();
    let recovery = TestApp::start(&database_url, options).await;
    recovery.age("payments", "expires_at", A_DAY).await;
    recovery.age("idempotency_keys", "started_at", A_DAY).await;
    recovery.run_jobs().await;
    let orders = shop.all_orders(&staff).await;
    assert_eq!(orders.len(), 1, "the order placed by recovery");
    assert_eq!(shop.stock(&staff, &variant_id).await, (2, 0, 2));

    let retry = shop
        .try_send(reqwest::Method::POST, &path, None, Some("stripe-crash"), Some(card))
        .await
        .expect("retry");
    assert_eq!(retry.assert_status(201)["id"], orders[0]["id"]);
    assert_eq!(stripe.all_captures(), 1, "still one charge");
    let _ = server.start_kill();
    let _ = server.wait().await;
}

/// An attempt made before checkout kept the priced cart on it (migration 0003) has only
/// its lines. Left pending by a crash after its capture, it is settled from them: the
/// order at the lines' prices, the unit sold.
async fn an_attempt_without_its_priced_cart_is_settled_from_its_lines(database_url: String) {
    let (mut doomed, shop, staff, variant_id) = lantern_shop_doomed_at(&database_url, "after_capture").await;
    let cart = id_of(shop.post("/v1/carts", None, json!({})).await.assert_status(201));
    let line = json!({"variant_id": variant_id, "quantity": 2});
    shop.post(&format!("/v1/carts/{cart}/items"), None, line)
        .await
        .assert_status(200);
    let died = checkout_with_the_key(&shop, &format!("/v1/carts/{cart}/checkout")).await;
    assert!(died.is_err(), "the server dies after the capture");
    let _ = tokio::time::timeout(Duration::from_secs(10), doomed.wait()).await;

    let recovery = TestApp::start(&database_url, ServerOptions::for_tests()).await;
    recovery
        .store
        .execute_unchecked("UPDATE payments SET pricing = NULL".to_owned())
        .await
        .expect("an attempt as made before 0003");
    recovery.age("payments", "expires_at", A_DAY).await;
    recovery.run_jobs().await;

    let orders = recovery.all_orders(&staff).await;
    assert_eq!(orders.len(), 1, "the order placed by recovery");
    let order_path = format!("/v1/admin/orders/{}", orders[0]["id"].as_str().expect("order id"));
    let order = recovery.get(&order_path, Some(&staff)).await;
    let order = order.assert_status(200);
    assert_eq!(order["total"], json!({"amount": 9000, "currency": "EUR"}));
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(
        recovery.stock(&staff, &variant_id).await,
        (1, 0, 1),
        "both units sold, none left reserved"
    );
    assert_eq!(recovery.captures().await, 1);
}

async fn times_used(shop: &Shop, staff: &str, discount: &str) -> i64 {
    let found = shop.get(&format!("/v1/admin/discounts/{discount}"), Some(staff)).await;
    found.assert_status(200)["times_used"].as_i64().expect("times_used")
}

async fn crash_after_the_reservation_releases_the_stock(database_url: String) {
    crash_during_checkout(database_url, "after_reservation").await;
}

async fn crash_after_the_capture_still_places_the_order(database_url: String) {
    crash_during_checkout(database_url, "after_capture").await;
}

async fn crash_before_the_response_keeps_the_order_for_the_retry(database_url: String) {
    crash_during_checkout(database_url, "before_response").await;
}

/// The checkout the client sends, and resends, under one Idempotency-Key.
async fn checkout_with_the_key(shop: &Shop, path: &str) -> reqwest::Result<Response> {
    shop.try_send(
        reqwest::Method::POST,
        path,
        None,
        Some("crash-key"),
        Some(checkout_body("tok_visa")),
    )
    .await
}

crate::database_tests!(
    crash_after_the_reservation_releases_the_stock,
    crash_after_the_capture_still_places_the_order,
    crash_before_the_response_keeps_the_order_for_the_retry,
    crash_after_stripes_answer_places_one_order_and_charges_once,
    an_attempt_without_its_priced_cart_is_settled_from_its_lines,
);
