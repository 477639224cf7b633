//! Attacks on the invariants of design.md with concurrent requests: no oversold unit, one
//! order and one charge per checkout however often it is sent, consistent carts, legal
//! transitions only, and SQLite that makes writers wait rather than fail.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::*;

/// Guest carts holding `quantity` of `variant_id`, one per buyer.
async fn guest_carts(app: &TestApp, variant_id: &str, quantity: i64, buyers: usize) -> Vec<String> {
    let mut carts = Vec::new();
    for _ in 0..buyers {
        carts.push(id_of(&app.cart_with(None, variant_id, quantity).await));
    }
    carts
}

/// Checks out every cart at once, spread over `servers`; returns the responses.
async fn checkout_all(servers: &[&TestApp], carts: &[String]) -> Vec<Response> {
    join_all(carts.iter().enumerate().map(|(index, cart)| {
        let server = servers[index % servers.len()];
        async move { server.checkout(None, cart, "tok_visa").await }
    }))
    .await
}

fn count(responses: &[Response], status: u16) -> usize {
    responses.iter().filter(|response| response.status == status).count()
}

/// Reads the raw stock of a variant until `stop` says so, asserting the invariant each time.
async fn watch_stock(app: &TestApp, staff: &str, variant_id: &str, stop: &tokio::sync::watch::Receiver<bool>) -> usize {
    let mut reads = 0;
    while !*stop.borrow() {
        let (on_hand, reserved, available) = app.stock(staff, variant_id).await;
        assert!(
            0 <= reserved && reserved <= on_hand,
            "0 <= reserved ({reserved}) <= on_hand ({on_hand})"
        );
        assert_eq!(available, on_hand - reserved);
        reads += 1;
    }
    reads
}

async fn no_oversell_when_many_buyers_race_for_the_last_units(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1500, 5).await;
    let carts = guest_carts(&app, &variant_id, 1, 24).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (responses, reads) = tokio::join!(
        async {
            let responses = checkout_all(&[&app], &carts).await;
            let _ = stop.send(true);
            responses
        },
        watch_stock(&app, &staff, &variant_id, &stopped),
    );

    assert_eq!(count(&responses, 201), 5, "exactly the stock is sold");
    for response in responses.iter().filter(|response| response.status != 201) {
        response.assert_problem(409, "out_of_stock");
    }
    assert!(reads > 0, "the stock was watched while buyers raced");
    assert_eq!(app.stock(&staff, &variant_id).await, (0, 0, 0));
    assert_eq!(app.captures().await, 5, "one charge per order");
}

async fn a_cart_asking_for_more_than_is_left_fails_whole(app: TestApp) {
    let staff = app.staff_token().await;
    let (scarce_product, scarce) = app.published_product(&staff, 1000, 1).await;
    let (_, plenty) = app.published_product(&staff, 500, 5).await;
    let cart = app.cart_with(None, &scarce, 2).await;
    let cart_id = id_of(&cart);
    app.post(
        &format!("/v1/carts/{cart_id}/items"),
        None,
        json!({"variant_id": plenty, "quantity": 1}),
    )
    .await
    .assert_status(200);

    let response = app.checkout(None, &cart_id, "tok_visa").await;
    response.assert_problem(409, "out_of_stock");
    let title = scarce_product["title"].as_str().expect("title");
    assert_eq!(
        response.body["variants"],
        json!([{"variant_id": scarce, "title": title, "requested": 2, "available": 1}])
    );
    assert_eq!(
        response.body["detail"],
        format!("not enough stock for {title} (only 1 left)"),
        "the shopper is told which line"
    );
    assert_eq!(app.stock(&staff, &scarce).await, (1, 0, 1));
    assert_eq!(
        app.stock(&staff, &plenty).await,
        (5, 0, 5),
        "the line that could be served was not taken either"
    );
    assert_eq!(app.captures().await, 0);
}

async fn carts_over_shared_variants_never_oversell(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, first) = app.published_product(&staff, 700, 3).await;
    let (_, second) = app.published_product(&staff, 900, 3).await;
    let mut carts = Vec::new();
    for index in 0..10 {
        // Half the carts list the variants in the other order, which would deadlock
        // checkouts that lock rows in cart order.
        let (a, b) = if index % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let cart = id_of(&app.cart_with(None, a, 1).await);
        app.post(
            &format!("/v1/carts/{cart}/items"),
            None,
            json!({"variant_id": b, "quantity": 1}),
        )
        .await
        .assert_status(200);
        carts.push(cart);
    }
    let responses = checkout_all(&[&app], &carts).await;
    assert_eq!(count(&responses, 201), 3);
    assert_eq!(
        count(&responses, 409),
        7,
        "the rest are out of stock: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.stock(&staff, &first).await, (0, 0, 0));
    assert_eq!(app.stock(&staff, &second).await, (0, 0, 0));
    assert_eq!(app.captures().await, 3);
}

async fn buyers_on_two_servers_sharing_one_database_never_oversell(app: TestApp) {
    let peer = app.start_peer().await;
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 2500, 4).await;
    let carts = guest_carts(&app, &variant_id, 1, 16).await;
    let responses = checkout_all(&[&app, &peer], &carts).await;
    assert_eq!(count(&responses, 201), 4);
    assert_eq!(count(&responses, 409), 12);
    assert_eq!(app.stock(&staff, &variant_id).await, (0, 0, 0));
    assert_eq!(app.captures().await, 4);
}

async fn one_checkout_sent_many_times_at_once_makes_one_order_and_one_charge(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 4200, 10).await;
    let (token, _) = app.customer().await;
    let cart = id_of(&app.cart_with(Some(&token), &variant_id, 2).await);
    let path = format!("/v1/carts/{cart}/checkout");

    let responses =
        join_all((0..12).map(|_| app.post_idempotent(&path, Some(&token), "one-checkout", checkout_body("tok_visa"))))
            .await;
    let created: Vec<&Response> = responses.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    for response in &responses {
        if response.status != 201 {
            response.assert_problem(409, "idempotency_key_in_use");
        }
    }
    assert!(
        created.iter().all(|r| r.text == created[0].text),
        "every 201 is the one original response"
    );
    // Once the first has finished, a retry is a byte-for-byte replay.
    let replay = app
        .post_idempotent(&path, Some(&token), "one-checkout", checkout_body("tok_visa"))
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.text, created[0].text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    assert_eq!(app.captures().await, 1, "one capture at the provider");
    assert_eq!(app.stock(&staff, &variant_id).await, (8, 0, 8), "stock taken once");
    let orders = app.get("/v1/orders", Some(&token)).await;
    assert_eq!(orders.assert_status(200)["data"].as_array().expect("orders").len(), 1);
}

/// Every POST of the contract replays instead of acting twice.
async fn every_post_is_idempotent(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1000, 10).await;

    let replays_same = |first: &Response, second: &Response| {
        assert_eq!(first.status, second.status, "{}", second.text);
        assert_eq!(first.text, second.text);
        assert_eq!(second.header("idempotent-replayed"), Some("true"));
        assert_eq!(first.header("idempotent-replayed"), None);
    };
    let twice = |path: String, token: Option<String>, key: &'static str, body: Value| {
        let app = &app;
        async move {
            let first = app.post_idempotent(&path, token.as_deref(), key, body.clone()).await;
            let second = app.post_idempotent(&path, token.as_deref(), key, body).await;
            (first, second)
        }
    };

    let email = unique_email("twice");
    let (first, second) = twice(
        "/v1/auth/register".into(),
        None,
        "k-register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    replays_same(&first, &second);
    let token = first.body["token"].as_str().expect("token").to_owned();

    let (first, second) = twice("/v1/carts".into(), Some(token.clone()), "k-cart", json!({})).await;
    replays_same(&first, &second);
    let cart = id_of(&first.body);

    let item = json!({"variant_id": variant_id, "quantity": 2});
    let (first, second) = twice(format!("/v1/carts/{cart}/items"), Some(token.clone()), "k-item", item).await;
    replays_same(&first, &second);
    let cart_now = app.get(&format!("/v1/carts/{cart}"), Some(&token)).await;
    assert_eq!(cart_now.body["items"][0]["quantity"], 2, "the item was added once");

    let adjust = json!({"delta": 5, "reason": "delivery"});
    let (first, second) = twice(
        format!("/v1/admin/inventory/{variant_id}/adjust"),
        Some(staff.clone()),
        "k-adjust",
        adjust,
    )
    .await;
    replays_same(&first, &second);
    assert_eq!(
        app.stock(&staff, &variant_id).await.0,
        15,
        "the delivery was counted once"
    );

    let product = json!({"title": "Twice Made", "variants": [{"sku": "TWICE-1", "price": eur(100)}]});
    let (first, second) = twice("/v1/admin/products".into(), Some(staff.clone()), "k-product", product).await;
    replays_same(&first, &second);

    let (first, second) = twice(
        format!("/v1/carts/{cart}/checkout"),
        Some(token.clone()),
        "k-pay",
        checkout_body("tok_visa"),
    )
    .await;
    replays_same(&first, &second);
    let order = id_of(&first.body);

    let refund = json!({"amount": 300});
    let (first, second) = twice(
        format!("/v1/admin/orders/{order}/refund"),
        Some(staff.clone()),
        "k-refund",
        refund,
    )
    .await;
    replays_same(&first, &second);
    assert_eq!(first.body["payment"]["refunded_amount"]["amount"], 300, "refunded once");

    let (first, second) = twice(
        format!("/v1/admin/orders/{order}/fulfill"),
        Some(staff.clone()),
        "k-fulfill",
        json!({}),
    )
    .await;
    replays_same(&first, &second);

    // Logout is the one POST whose retry cannot be replayed: the token that names the
    // caller stopped working with the first request, so the retry is 401 like any other
    // request carrying it.
    let (first, second) = twice("/v1/auth/logout".into(), Some(token.clone()), "k-logout", json!({})).await;
    assert_eq!(first.status, 204);
    second.assert_problem(401, "unauthorized");
}

/// A record older than 24 hours is deleted, after which the key runs anew.
async fn idempotency_keys_expire_after_a_day(app: TestApp) {
    let first = app.post_idempotent("/v1/carts", None, "old-key", json!({})).await;
    first.assert_status(201);
    app.age("idempotency_keys", "created_at", 25 * 3600).await;
    // The background job may get there first; either way the record is gone after this.
    backroom::domain::idempotency::delete_expired(&app.store)
        .await
        .expect("cleanup");
    let again = app.post_idempotent("/v1/carts", None, "old-key", json!({})).await;
    again.assert_status(201);
    assert_ne!(
        id_of(&again.body),
        id_of(&first.body),
        "an expired key makes a new cart"
    );
    assert_eq!(again.header("idempotent-replayed"), None);
}

async fn concurrent_adds_to_one_cart_make_one_line_with_the_sum(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 350, 100).await;
    let (token, _) = app.customer().await;
    let cart = app
        .post("/v1/carts", Some(&token), json!({}))
        .await
        .assert_status(201)
        .clone();
    let cart_id = id_of(&cart);
    let path = format!("/v1/carts/{cart_id}/items");

    let responses =
        join_all((0..20).map(|_| app.post(&path, Some(&token), json!({"variant_id": variant_id, "quantity": 1}))))
            .await;
    assert!(responses.iter().all(|r| r.status == 200), "every add succeeds");
    let versions: std::collections::HashSet<i64> = responses
        .iter()
        .map(|r| r.body["version"].as_i64().expect("version"))
        .collect();
    assert_eq!(versions.len(), 20, "every change got its own version");

    let after = app.get(&format!("/v1/carts/{cart_id}"), Some(&token)).await;
    let body = after.assert_status(200);
    assert_eq!(
        body["items"].as_array().expect("items").len(),
        1,
        "one line per variant"
    );
    assert_eq!(body["items"][0]["quantity"], 20);
    assert_eq!(body["version"], cart["version"].as_i64().expect("version") + 20);
    assert_money(&body["total"], 20 * 350);

    // Concurrent quantity changes: the line ends at one of the values sent, totals agree.
    let item = body["items"][0]["id"].as_str().expect("item id").to_owned();
    let item_path = format!("/v1/carts/{cart_id}/items/{item}");
    join_all((1..=10).map(|quantity| app.patch(&item_path, Some(&token), json!({"quantity": quantity})))).await;
    let after = app.get(&format!("/v1/carts/{cart_id}"), Some(&token)).await;
    let quantity = after.body["items"][0]["quantity"].as_i64().expect("quantity");
    assert!((1..=10).contains(&quantity));
    assert_money(&after.body["total"], quantity * 350);
    assert_eq!(after.body["version"], body["version"].as_i64().expect("version") + 10);
}

/// Every (order state, action) pair over HTTP: the documented next state or 409.
async fn every_order_transition_is_legal_or_a_conflict(app: TestApp) {
    let staff = app.staff_token().await;
    let (token, _) = app.customer().await;
    // (how to prepare the order, action, expected status, expected order status, expected payment status)
    let table: [(&str, &str, Value, u16, &str, &str); 15] = [
        ("paid", "fulfill", json!({}), 200, "fulfilled", "captured"),
        ("paid", "cancel", json!({}), 200, "canceled", "refunded"),
        (
            "paid",
            "refund",
            json!({"amount": 100}),
            200,
            "paid",
            "partially_refunded",
        ),
        ("paid", "refund", json!({}), 200, "paid", "refunded"),
        ("fulfilled", "fulfill", json!({}), 409, "fulfilled", "captured"),
        ("fulfilled", "cancel", json!({}), 409, "fulfilled", "captured"),
        (
            "fulfilled",
            "refund",
            json!({"amount": 100}),
            200,
            "fulfilled",
            "partially_refunded",
        ),
        ("canceled", "fulfill", json!({}), 409, "canceled", "refunded"),
        ("canceled", "cancel", json!({}), 409, "canceled", "refunded"),
        (
            "canceled",
            "refund",
            json!({"amount": 100}),
            409,
            "canceled",
            "refunded",
        ),
        ("partially_refunded", "refund", json!({}), 200, "paid", "refunded"),
        (
            "partially_refunded",
            "fulfill",
            json!({}),
            200,
            "fulfilled",
            "partially_refunded",
        ),
        ("partially_refunded", "cancel", json!({}), 200, "canceled", "refunded"),
        ("refunded", "refund", json!({"amount": 1}), 409, "paid", "refunded"),
        ("refunded", "fulfill", json!({}), 200, "fulfilled", "refunded"),
    ];
    for (state, action, body, status, order_status, payment_status) in table {
        let (order, _) = app.paid_order(&staff, Some(&token), 1000, 1, 5).await;
        let id = id_of(&order);
        let admin = |step: &str| format!("/v1/admin/orders/{id}/{step}");
        match state {
            "paid" => {}
            "fulfilled" => {
                app.post(&admin("fulfill"), Some(&staff), json!({}))
                    .await
                    .assert_status(200);
            }
            "canceled" => {
                app.post(&admin("cancel"), Some(&staff), json!({}))
                    .await
                    .assert_status(200);
            }
            "partially_refunded" => {
                app.post(&admin("refund"), Some(&staff), json!({"amount": 400}))
                    .await
                    .assert_status(200);
            }
            "refunded" => {
                app.post(&admin("refund"), Some(&staff), json!({}))
                    .await
                    .assert_status(200);
            }
            other => unreachable!("{other}"),
        };
        let response = app.post(&admin(action), Some(&staff), body).await;
        assert_eq!(response.status, status, "{state} + {action}: {}", response.text);
        if status == 409 {
            response.assert_problem(409, "conflict");
        }
        let now = app.get(&format!("/v1/admin/orders/{id}"), Some(&staff)).await;
        assert_eq!(now.body["status"], order_status, "{state} + {action}");
        assert_eq!(now.body["payment"]["status"], payment_status, "{state} + {action}");
    }
}

/// 64 writers at once on one database: every request is served, none sees a lock error.
async fn many_concurrent_writers_all_succeed(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 1000).await;
    let responses = join_all((0..64).map(|_| async {
        let cart = app.post("/v1/carts", None, json!({})).await;
        let cart_id = id_of(cart.assert_status(201));
        app.post(
            &format!("/v1/carts/{cart_id}/items"),
            None,
            json!({"variant_id": variant_id, "quantity": 1}),
        )
        .await
    }))
    .await;
    for response in &responses {
        assert_eq!(response.status, 200, "{}", response.text);
    }
}

/// A provider that hangs is a failed attempt: 502, stock released, nothing charged, and
/// the cart stays usable.
async fn a_provider_that_hangs_is_a_failed_attempt(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 990, 3).await;
    let cart = id_of(&app.cart_with(None, &variant_id, 2).await);
    let response = app.checkout(None, &cart, "tok_visa").await;
    response.assert_problem(502, "payment_provider_error");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    assert_eq!(app.captures().await, 0);
    app.post(
        &format!("/v1/carts/{cart}/items"),
        None,
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_status(200);
}

fn hanging_provider() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.checkout.provider_timeout = Duration::from_millis(200);
    options.test_provider_faults.capture_delay = Some(Duration::from_secs(5));
    options
}

/// A provider that answers garbage is a failed attempt too.
async fn a_provider_answering_garbage_is_a_failed_attempt(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 990, 3).await;
    let cart = id_of(&app.cart_with(None, &variant_id, 1).await);
    app.checkout(None, &cart, "tok_visa")
        .await
        .assert_problem(502, "payment_provider_error");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    assert_eq!(app.captures().await, 0);
}

/// A checkout that outlives the request timeout: the client gets 503 `timeout`, the
/// checkout finishes anyway (it runs detached), and a retry with the same key, once the
/// key counts as abandoned, gets that very order.
async fn a_timed_out_checkout_still_finishes_and_its_retry_gets_the_order(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 2300, 4).await;
    let cart = id_of(&app.cart_with(None, &variant_id, 1).await);
    let path = format!("/v1/carts/{cart}/checkout");
    let mut announcements = app.events("/v1/admin/events", Some(&staff)).await;
    app.post_idempotent(&path, None, "slow-key", checkout_body("tok_visa"))
        .await
        .assert_problem(503, "timeout");

    let paid = announcements.next_event().await;
    assert_eq!(
        paid.event.as_deref(),
        Some("order.paid"),
        "the checkout finished after the request timed out"
    );
    let orders = app.all_orders(&staff).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&paid.data).expect("event")["data"]["id"],
        orders[0]["id"]
    );
    assert_eq!(app.captures().await, 1);

    // The key stays claimed until it counts as abandoned; a day later it does.
    app.post_idempotent(&path, None, "slow-key", checkout_body("tok_visa"))
        .await
        .assert_problem(409, "idempotency_key_in_use");
    app.age("idempotency_keys", "started_at", 24 * 60 * 60).await;
    let retry = app
        .post_idempotent(&path, None, "slow-key", checkout_body("tok_visa"))
        .await;
    assert_eq!(retry.assert_status(201)["id"], orders[0]["id"]);
    assert_eq!(app.captures().await, 1, "still one charge");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
}

fn slow_provider_short_timeout() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.http.request_timeout = Duration::from_millis(300);
    options.test_provider_faults.capture_delay = Some(Duration::from_millis(1200));
    options
}

fn garbage_provider() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.test_provider_faults.garbage_answers = true;
    options
}

crate::backend_tests!(
    no_oversell_when_many_buyers_race_for_the_last_units,
    a_cart_asking_for_more_than_is_left_fails_whole,
    carts_over_shared_variants_never_oversell,
    buyers_on_two_servers_sharing_one_database_never_oversell,
    one_checkout_sent_many_times_at_once_makes_one_order_and_one_charge,
    every_post_is_idempotent,
    idempotency_keys_expire_after_a_day,
    concurrent_adds_to_one_cart_make_one_line_with_the_sum,
    every_order_transition_is_legal_or_a_conflict,
    many_concurrent_writers_all_succeed,
);

mod hanging {
    use super::*;
    crate::backend_tests!(options = crate::invariants::hanging_provider(); a_provider_that_hangs_is_a_failed_attempt);
}

mod slow {
    use super::*;
    crate::backend_tests!(
        options = crate::invariants::slow_provider_short_timeout();
        a_timed_out_checkout_still_finishes_and_its_retry_gets_the_order
    );
}

mod garbage {
    use super::*;
    crate::backend_tests!(options = crate::invariants::garbage_provider(); a_provider_answering_garbage_is_a_failed_attempt);
}
