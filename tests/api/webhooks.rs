//! Events and merchant webhooks (contract: Events and webhooks): the event log, the staff
//! stream resuming with `Last-Event-ID`, the storefront's stock and cart streams, and
//! endpoints whose deliveries are signed after Standard Webhooks, retried, and disabled.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::*;

fn loopback_webhooks() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.webhooks_allow_loopback = true;
    options
}

/// Registers `url` for `events`; returns `(endpoint id, secret)`.
async fn endpoint(app: &TestApp, staff: &str, url: &str, events: Value) -> (String, String) {
    let created = app
        .post("/v1/admin/webhooks", Some(staff), json!({"url": url, "events": events}))
        .await;
    let body = created.assert_status(201);
    let secret = body["secret"].as_str().expect("the secret is shown once").to_owned();
    (id_of(body), secret)
}

async fn deliveries(app: &TestApp, staff: &str, endpoint_id: &str) -> Vec<Value> {
    let list = app
        .get(&format!("/v1/admin/webhooks/{endpoint_id}/deliveries"), Some(staff))
        .await;
    list.assert_status(200)["data"].as_array().expect("data").clone()
}

async fn events_of_type(app: &TestApp, staff: &str, kind: &str) -> Vec<Value> {
    let log = app.get(&format!("/v1/admin/event-log?type={kind}"), Some(staff)).await;
    log.assert_status(200)["data"].as_array().expect("data").clone()
}

async fn endpoints_are_managed_and_their_urls_checked(app: TestApp) {
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/v1/admin/webhooks",
            Some(&staff),
            json!({"url": receiver.url, "events": ["order.paid", "order.paid", "inventory.low"], "description": "fulfilment"}),
        )
        .await;
    let body = created.assert_status(201).clone();
    let secret = body["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(body["events"], json!(["order.paid", "inventory.low"]), "each type once");
    assert_eq!(body["enabled"], true);
    let id = id_of(&body);
    assert!(id.starts_with("whk_"), "{id}");

    let read = app.get(&format!("/v1/admin/webhooks/{id}"), Some(&staff)).await;
    assert!(
        read.assert_status(200).get("secret").is_none(),
        "the secret is shown only once"
    );
    let listed = app.get("/v1/admin/webhooks", Some(&staff)).await;
    assert_eq!(listed.assert_status(200)["data"][0]["id"], id.as_str());

    let paused = app
        .patch(
            &format!("/v1/admin/webhooks/{id}"),
            Some(&staff),
            json!({"enabled": false, "events": ["*"]}),
        )
        .await;
    assert_eq!(paused.assert_status(200)["enabled"], false);
    assert_eq!(paused.assert_status(200)["events"], json!(["*"]));

    for (url, why) in [
        ("http://93.184.215.14/hooks", "http to a public address"),
        ("ftp://93.184.215.14/hooks", "not http"),
        ("https://10.1.2.3/hooks", "a private address"),
        (
            "https://169.254.169.254/latest/meta-data",
            "link-local (cloud metadata)",
        ),
        ("https://[::ffff:10.0.0.1]/hooks", "a private address in IPv6 form"),
        ("https://localhost.invalid/hooks", "a name that does not resolve"),
    ] {
        let refused = app
            .post("/v1/admin/webhooks", Some(&staff), json!({"url": url, "events": ["*"]}))
            .await;
        refused.assert_field_error("url");
        assert!(!why.is_empty());
    }
    app.post(
        "/v1/admin/webhooks",
        Some(&staff),
        json!({"url": receiver.url, "events": ["order.shipped"]}),
    )
    .await
    .assert_field_error("events[0]");
    app.post(
        "/v1/admin/webhooks",
        Some(&staff),
        json!({"url": receiver.url, "events": []}),
    )
    .await
    .assert_field_error("events");
    app.patch(
        &format!("/v1/admin/webhooks/{id}"),
        Some(&staff),
        json!({"url": "https://192.168.0.1/x"}),
    )
    .await
    .assert_field_error("url");

    app.delete(&format!("/v1/admin/webhooks/{id}"), Some(&staff))
        .await
        .assert_status(204);
    app.get(&format!("/v1/admin/webhooks/{id}"), Some(&staff))
        .await
        .assert_problem(404, "not_found");
}

async fn loopback_needs_the_operators_consent(app: TestApp) {
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    app.post(
        "/v1/admin/webhooks",
        Some(&staff),
        json!({"url": receiver.url, "events": ["*"]}),
    )
    .await
    .assert_field_error("url");
}

async fn deliveries_are_signed_and_verify_with_the_published_library(app: TestApp) {
    let staff = app.staff_token().await;
    let mut receiver = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &staff, &receiver.url, json!(["order.paid"])).await;
    let (customer, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&customer), 1250, 1, 10).await;

    let delivery = receiver.next().await;
    delivery.verify(&secret);
    let body = delivery.json();
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["data"]["id"], order["id"], "the data is the order");
    assert_eq!(body["data"]["status"], "paid");
    assert_eq!(delivery.header("webhook-id"), body["id"].as_str().expect("id"));
    assert!(delivery.header("webhook-id").starts_with("evt_"));
    assert_eq!(delivery.header("content-type"), "application/json");

    let logged = events_of_type(&app, &staff, "order.paid").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["id"], body["id"]);
    assert_eq!(logged[0]["data"], body["data"], "the log holds the same snapshot");

    // Only the types it asked for: the product and stock events went elsewhere.
    let all = deliveries(&app, &staff, &endpoint_id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["event_id"], body["id"]);
    assert_eq!(all[0]["event_type"], "order.paid");
    // The worker records the attempt right after the answer: read it through the API.
    let detail = loop {
        let read = app
            .get(
                &format!("/v1/admin/webhooks/{endpoint_id}/deliveries/{}", id_of(&all[0])),
                Some(&staff),
            )
            .await;
        let read = read.assert_status(200).clone();
        if read["status"] != "pending" {
            break read;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(detail["status"], "succeeded");
    assert_eq!(detail["attempts"], 1);
    assert_eq!(detail["response_status"], 200);
    let attempt = &detail["attempt_log"][0];
    assert_eq!(attempt["response_status"], 200);
    assert_eq!(attempt["response_body"], "received");
    assert!(attempt["duration_ms"].as_i64().is_some());
}

async fn failures_are_retried_then_succeed_and_a_retry_by_hand_counts(app: TestApp) {
    let staff = app.staff_token().await;
    let mut receiver = Receiver::start().await;
    receiver.answer_with(500);
    let (endpoint_id, secret) = endpoint(&app, &staff, &receiver.url, json!(["product.created"])).await;
    app.published_product(&staff, 900, 3).await;
    let first = receiver.next().await;
    first.verify(&secret);
    app.deliver_webhooks().await;
    let pending = loop {
        let found = deliveries(&app, &staff, &endpoint_id).await;
        if found[0]["attempts"] == 1 && found[0]["next_attempt_at"].is_string() && found[0]["response_status"] == 500 {
            break found[0].clone();
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(pending["status"], "pending");
    let endpoint_now = app
        .get(&format!("/v1/admin/webhooks/{endpoint_id}"), Some(&staff))
        .await;
    assert!(endpoint_now.assert_status(200)["failing_since"].is_string());

    // The retry comes due (the schedule's first wait is 4 to 6 s): made due now.
    receiver.answer_with(200);
    app.age("webhook_deliveries", "next_attempt_at", 10).await;
    app.deliver_webhooks().await;
    let second = receiver.next().await;
    assert_eq!(
        second.header("webhook-id"),
        first.header("webhook-id"),
        "the same id on every retry"
    );
    second.verify(&secret);
    let succeeded = loop {
        let found = deliveries(&app, &staff, &endpoint_id).await;
        if found[0]["status"] == "succeeded" {
            break found[0].clone();
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(succeeded["attempts"], 2);
    assert!(succeeded["next_attempt_at"].is_null());
    let endpoint_now = app
        .get(&format!("/v1/admin/webhooks/{endpoint_id}"), Some(&staff))
        .await;
    assert!(
        endpoint_now.assert_status(200)["failing_since"].is_null(),
        "a success ends the failing"
    );

    let retry = format!(
        "/v1/admin/webhooks/{endpoint_id}/deliveries/{}/retry",
        id_of(&succeeded)
    );
    app.post(&retry, Some(&staff), json!({})).await.assert_status(202);
    let third = receiver.next().await;
    assert_eq!(third.header("webhook-id"), first.header("webhook-id"));
    let retried = loop {
        let found = deliveries(&app, &staff, &endpoint_id).await;
        if found[0]["attempts"] == 3 && found[0]["status"] == "succeeded" {
            break found[0].clone();
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(retried["response_status"], 200);
}

async fn gone_disables_at_once_and_three_days_of_failures_disable_and_tell_the_admins(app: TestApp) {
    let staff = app.staff_token().await;
    let mut gone = Receiver::start().await;
    gone.answer_with(410);
    let (gone_id, _) = endpoint(&app, &staff, &gone.url, json!(["*"])).await;
    let mut failing = Receiver::start().await;
    failing.answer_with(503);
    let (failing_id, _) = endpoint(&app, &staff, &failing.url, json!(["product.created"])).await;

    app.published_product(&staff, 500, 1).await;
    gone.next().await;
    failing.next().await;
    let disabled = loop {
        let read = app.get(&format!("/v1/admin/webhooks/{gone_id}"), Some(&staff)).await;
        let read = read.assert_status(200).clone();
        if read["enabled"] == false {
            break read;
        }
        tokio::task::yield_now().await;
    };
    assert!(disabled["disabled_reason"].as_str().expect("reason").contains("410"));
    let gone_deliveries = deliveries(&app, &staff, &gone_id).await;
    assert_eq!(gone_deliveries[0]["status"], "failed");
    // A disabled endpoint gets no new deliveries, and cannot be tested.
    app.published_product(&staff, 500, 1).await;
    assert_eq!(deliveries(&app, &staff, &gone_id).await.len(), 1);
    app.post(&format!("/v1/admin/webhooks/{gone_id}/test"), Some(&staff), json!({}))
        .await
        .assert_problem(409, "conflict");

    // Three days pass with every delivery failing: the next failure gives up on both the
    // delivery and the endpoint. (Once no attempt is under way: one that began before the
    // days passed would still see a young delivery.)
    app.deliver_webhooks().await;
    loop {
        let tried = deliveries(&app, &staff, &failing_id).await;
        if tried.len() == 2 && tried.iter().all(|d| d["response_status"] == 503) {
            break;
        }
        app.deliver_webhooks().await;
        tokio::task::yield_now().await;
    }
    app.age("webhook_endpoints", "failing_since", 3 * 24 * 3600 + 60).await;
    app.age("webhook_deliveries", "created_at", 3 * 24 * 3600 + 60).await;
    app.age("webhook_deliveries", "next_attempt_at", 3 * 24 * 3600 + 60)
        .await;
    app.deliver_webhooks().await;
    let disabled = app.get(&format!("/v1/admin/webhooks/{failing_id}"), Some(&staff)).await;
    let disabled = disabled.assert_status(200);
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["disabled_reason"].as_str().expect("reason").contains("3 days"));
    let given_up = deliveries(&app, &staff, &failing_id).await;
    assert!(
        given_up.iter().any(|d| d["status"] == "failed") && given_up.iter().all(|d| d["status"] != "succeeded"),
        "the delivery it tried failed for good; the others wait for the endpoint: {given_up:?}"
    );
    let told = app
        .store
        .execute_unchecked(
            "UPDATE outbox SET attempts = attempts WHERE payload LIKE '%webhook endpoint was disabled%'".to_owned(),
        )
        .await
        .expect("count the emails");
    assert_eq!(
        told, 2,
        "the admins are emailed once per disabled endpoint (one admin here)"
    );
    while failing.try_next().is_some() {}

    // Enabled again, it is clean, and a test event reaches it.
    failing.answer_with(200);
    let enabled = app
        .patch(
            &format!("/v1/admin/webhooks/{failing_id}"),
            Some(&staff),
            json!({"enabled": true}),
        )
        .await;
    let enabled = enabled.assert_status(200);
    assert!(enabled["disabled_reason"].is_null() && enabled["failing_since"].is_null());
    let test = app
        .post(
            &format!("/v1/admin/webhooks/{failing_id}/test"),
            Some(&staff),
            json!({}),
        )
        .await;
    let event_id = test.assert_status(202)["event_id"]
        .as_str()
        .expect("event id")
        .to_owned();
    let delivery = loop {
        let next = failing.next().await;
        if next.header("webhook-id") == event_id {
            break next;
        }
    };
    assert_eq!(delivery.json()["type"], "webhook.test");
    assert_eq!(delivery.json()["data"]["webhook_id"], failing_id.as_str());
}

async fn every_change_that_matters_is_an_event(app: TestApp) {
    let staff = app.staff_token().await;
    let (customer, account) = app.customer().await;
    let created = events_of_type(&app, &staff, "customer.created").await;
    assert_eq!(created[0]["data"]["id"], account["id"]);
    assert!(created[0]["data"].get("password_hash").is_none());

    let (product, variant) = app.published_product(&staff, 1000, 7).await;
    let created = events_of_type(&app, &staff, "product.created").await;
    assert_eq!(created[0]["data"]["id"], product["id"]);
    app.patch(
        &format!("/v1/admin/variants/{variant}"),
        Some(&staff),
        json!({"price": {"amount": 1100, "currency": "EUR"}}),
    )
    .await
    .assert_status(200);
    let updated = events_of_type(&app, &staff, "product.updated").await;
    assert_eq!(
        updated[0]["data"]["variants"][0]["price"]["amount"], 1100,
        "a snapshot after the change"
    );
    let product_id = id_of(&product);
    app.patch(
        &format!("/v1/admin/products/{product_id}"),
        Some(&staff),
        json!({"title": "Renamed for the event"}),
    )
    .await
    .assert_status(200);
    let updated = events_of_type(&app, &staff, "product.updated").await;
    assert_eq!(updated.len(), 2, "the price change and the rename");
    assert_eq!(updated[0]["data"]["title"], "Renamed for the event");

    // 7 units, threshold 5: two bought leave 5, which is low; five more leave none.
    let cart = app.cart_with(Some(&customer), &variant, 2).await;
    app.checkout(Some(&customer), &id_of(&cart), "tok_visa")
        .await
        .assert_status(201);
    let low = events_of_type(&app, &staff, "inventory.low").await;
    assert_eq!(low.len(), 1, "{low:?}");
    assert_eq!(low[0]["data"]["variant_id"], variant.as_str());
    assert_eq!(low[0]["data"]["available"], 5);
    assert_eq!(low[0]["data"]["low_stock_threshold"], 5);
    let cart = app.cart_with(Some(&customer), &variant, 5).await;
    app.checkout(Some(&customer), &id_of(&cart), "tok_visa")
        .await
        .assert_status(201);
    let out = events_of_type(&app, &staff, "inventory.out_of_stock").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["data"]["available"], 0);
    assert_eq!(
        events_of_type(&app, &staff, "inventory.low").await.len(),
        1,
        "it was low already"
    );

    // A declined card is `payment.failed`.
    let (_, other_variant) = app.published_product(&staff, 1000, 7).await;
    let cart = app.cart_with(Some(&customer), &other_variant, 1).await;
    app.checkout(Some(&customer), &id_of(&cart), "tok_chargeDeclined")
        .await
        .assert_status(402);
    let failed = events_of_type(&app, &staff, "payment.failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["status"], "failed");

    // The threshold is the shop's setting.
    let admin_patch = app
        .patch("/v1/admin/shop", Some(&staff), json!({"low_stock_threshold": -1}))
        .await;
    admin_patch.assert_field_error("low_stock_threshold");
    app.get("/v1/admin/event-log?type=order.shipped", Some(&staff))
        .await
        .assert_field_error("type");
    let page = app.get("/v1/admin/event-log?limit=2", Some(&staff)).await;
    let page = page.assert_status(200).clone();
    let next = page["next_cursor"].as_str().expect("more events");
    let rest = app
        .get(&format!("/v1/admin/event-log?limit=2&cursor={next}"), Some(&staff))
        .await;
    assert_ne!(rest.assert_status(200)["data"][0]["id"], page["data"][0]["id"]);
}

async fn the_staff_stream_resumes_after_the_last_event_seen(app: TestApp) {
    let staff = app.staff_token().await;
    let mut stream = app.events("/v1/admin/events", Some(&staff)).await;
    let (first, _) = app.published_product(&staff, 100, 1).await;
    let (second, _) = app.published_product(&staff, 100, 1).await;
    let seen = stream.next_event().await;
    assert_eq!(seen.event.as_deref(), Some("product.created"));
    let event: Value = serde_json::from_str(&seen.data).expect("event");
    assert_eq!(event["data"]["id"], first["id"]);
    assert_eq!(seen.id.as_deref(), event["id"].as_str());
    drop(stream);

    // The connection dropped after the first: a client resuming gets the second, and what
    // happened since, in order.
    let (third, _) = app.published_product(&staff, 100, 1).await;
    let mut resumed = app
        .events_after("/v1/admin/events", Some(&staff), seen.id.as_deref())
        .await;
    for expected in [&second, &third] {
        let next = resumed.next_event().await;
        let event: Value = serde_json::from_str(&next.data).expect("event");
        assert_eq!(event["type"], "product.created");
        assert_eq!(event["data"]["id"], expected["id"]);
    }
}

async fn storefront_streams_show_stock_and_the_cart_live(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant) = app.published_product(&staff, 800, 4).await;
    let slug = product["slug"].as_str().expect("slug");
    let mut stock = app.events(&format!("/v1/products/{slug}/events"), None).await;
    let now = stock.next_event().await;
    assert_eq!(now.event.as_deref(), Some("product.stock"));
    assert_eq!(
        serde_json::from_str::<Value>(&now.data).expect("json"),
        json!({"variant_id": variant, "available": 4})
    );

    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201).clone();
    let cart_id = id_of(&cart);
    let mut cart_stream = app.events(&format!("/v1/carts/{cart_id}/events"), None).await;
    let opened = cart_stream.next_event().await;
    assert_eq!(opened.event.as_deref(), Some("cart.updated"));
    app.post(
        &format!("/v1/carts/{cart_id}/items"),
        None,
        json!({"variant_id": variant, "quantity": 3}),
    )
    .await
    .assert_status(200);
    let changed = cart_stream.next_event().await;
    let changed: Value = serde_json::from_str(&changed.data).expect("cart");
    assert_eq!(changed["items"][0]["quantity"], 3);

    app.checkout(None, &cart_id, "tok_visa").await.assert_status(201);
    let after = stock.next_event().await;
    assert_eq!(
        serde_json::from_str::<Value>(&after.data).expect("json"),
        json!({"variant_id": variant, "available": 1})
    );
    app.get("/v1/products/no-such-product/events", None)
        .await
        .assert_problem(404, "not_found");
}

async fn one_slow_endpoint_does_not_hold_up_another(app: TestApp) {
    let staff = app.staff_token().await;
    let slow = Receiver::start().await;
    slow.hold().await;
    let mut quick = Receiver::start().await;
    endpoint(&app, &staff, &slow.url, json!(["product.created"])).await;
    let (quick_id, _) = endpoint(&app, &staff, &quick.url, json!(["product.created"])).await;
    for _ in 0..3 {
        app.published_product(&staff, 100, 1).await;
    }
    for _ in 0..3 {
        let delivery = quick.next_within(Duration::from_secs(10)).await;
        assert_eq!(delivery.json()["type"], "product.created");
    }
    assert_eq!(deliveries(&app, &staff, &quick_id).await.len(), 3);
    slow.release().await;
}

crate::backend_tests!(options = crate::webhooks::loopback_webhooks();
    endpoints_are_managed_and_their_urls_checked,
    deliveries_are_signed_and_verify_with_the_published_library,
    failures_are_retried_then_succeed_and_a_retry_by_hand_counts,
    gone_disables_at_once_and_three_days_of_failures_disable_and_tell_the_admins,
    every_change_that_matters_is_an_event,
    the_staff_stream_resumes_after_the_last_event_seen,
    storefront_streams_show_stock_and_the_cart_live,
    one_slow_endpoint_does_not_hold_up_another,
);

mod without_loopback {
    use super::*;
    crate::backend_tests!(loopback_needs_the_operators_consent);
}
