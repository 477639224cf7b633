//! Payments with Stripe (contract: Payments with Stripe), against the fake Stripe of
//! `support::fake_stripe`: what Backroom sends, declines, 3-D Secure, the race between the
//! customer's confirmation and Stripe's webhook, answers lost after the charge, manual
//! capture, refunds, and the webhook's signature.

use std::time::Duration;

use backroom::domain::payments::CaptureMode;
use backroom::server::ServerOptions;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::fake_stripe::{FakeStripe, Faults, WEBHOOK_SECRET, now_seconds, signature};
use crate::support::*;

/// A server taking payments through a fresh fake Stripe.
async fn stripe_shop(database_url: &str, configure: impl FnOnce(&mut ServerOptions)) -> (FakeStripe, TestApp) {
    let stripe = FakeStripe::start().await;
    let mut options = ServerOptions::for_tests();
    options.payments.provider = stripe.provider();
    configure(&mut options);
    (stripe, TestApp::start(database_url, options).await)
}

fn card(payment_method: &str) -> Value {
    json!({"email": "buyer@example.com", "shipping_address": address(), "payment": {"payment_method": payment_method}})
}

/// A guest cart of one unit of a fresh product (3 in stock); its path and variant.
async fn cart_of_one(app: &TestApp, staff: &str, price: i64) -> (String, String) {
    let (_, variant_id) = app.published_product(staff, price, 3).await;
    let cart = id_of(&app.cart_with(None, &variant_id, 1).await);
    (cart, variant_id)
}

async fn checkout(app: &TestApp, cart: &str, payment_method: &str) -> Response {
    app.post(&format!("/v1/carts/{cart}/checkout"), None, card(payment_method))
        .await
}

/// Sends a Stripe event signed with `secret` at `timestamp`.
async fn deliver(app: &TestApp, body: &str, secret: &str, timestamp: i64) -> Response {
    let response = app
        .client
        .post(app.url("/v1/webhooks/stripe"))
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature(secret, timestamp, body))
        .body(body.to_owned())
        .send()
        .await
        .expect("the webhook reaches the server");
    read(response).await
}

async fn a_card_is_charged_once_for_the_orders_total(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 2500).await;
    let order = checkout(&app, &cart, "pm_card_visa").await;
    let order = order.assert_status(201).clone();
    assert_eq!(order["payment"]["status"], "captured");
    let payment_id = order["payment"]["id"].as_str().expect("payment id").to_owned();
    assert_eq!(stripe.captures_of(&payment_id), 1);
    assert_eq!(stripe.intents_for(&payment_id), 1);
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));

    let sent = stripe.received();
    let create = sent
        .iter()
        .find(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .expect("an intent was created");
    assert_eq!(create.form["amount"], order["total"]["amount"].to_string());
    assert_eq!(create.form["currency"], "eur");
    assert_eq!(create.form["payment_method"], "pm_card_visa");
    assert_eq!(create.form["metadata[backroom_payment_id]"], payment_id);
    assert!(
        !create.form.contains_key("confirm"),
        "created unconfirmed: nothing charged yet"
    );
    for request in &sent {
        assert_eq!(
            request.stripe_version.as_deref(),
            Some(backroom::payments::STRIPE_VERSION)
        );
        if request.method == "POST" {
            let key = request.idempotency_key.as_deref().expect("every POST carries a key");
            assert!(key.contains(&payment_id), "{key} derives from the payment id");
        }
    }
    let keys: Vec<_> = sent.iter().filter_map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 2, "create and confirm: {keys:?}");
    assert_ne!(keys[0], keys[1], "one key per step");

    let payment = app.get(&format!("/v1/payments/{payment_id}"), None).await;
    let payment = payment.assert_status(200);
    assert_eq!(payment["status"], "captured");
    assert_eq!(payment["order_id"], order["id"]);
    assert!(payment.get("client_secret").is_none());
}

async fn a_decline_is_402_with_stripes_decline_code_and_releases_the_stock(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 1200).await;
    let declined = checkout(&app, &cart, "pm_card_chargeDeclinedInsufficientFunds").await;
    declined.assert_problem(402, "payment_declined");
    assert_eq!(declined.body["decline_code"], "insufficient_funds");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    assert_eq!(stripe.all_captures(), 0);
    let declined_payment = stripe.received()[0].form["metadata[backroom_payment_id]"].clone();
    assert_eq!(
        stripe.intent_for(&declined_payment)["status"],
        "canceled",
        "a declined intent is canceled before its stock is released: no later confirmation can charge it"
    );
    // The cart is open again: another card pays.
    checkout(&app, &cart, "pm_card_visa").await.assert_status(201);
    assert_eq!(stripe.all_captures(), 1);

    let (other_cart, _) = cart_of_one(&app, &staff, 1200).await;
    let refused = checkout(&app, &other_cart, "pm_does_not_exist").await;
    refused.assert_problem(502, "payment_provider_error");
    let token = app
        .post(
            &format!("/v1/carts/{other_cart}/checkout"),
            None,
            checkout_body("tok_visa"),
        )
        .await;
    token.assert_problem(422, "validation_failed");
    assert_eq!(
        token.body["errors"][0]["field"], "payment.token",
        "the test provider's field is refused by name"
    );
}

async fn three_d_secure_is_202_and_confirm_and_webhook_racing_make_one_order(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 3100).await;
    let action = checkout(&app, &cart, "pm_card_threeDSecure2Required").await;
    let action = action.assert_status(202).clone();
    assert_eq!(action["status"], "requires_action");
    let payment_id = action["payment_id"].as_str().expect("payment_id").to_owned();
    assert_eq!(action["client_secret"], stripe.intent_for(&payment_id)["client_secret"]);
    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (3, 1, 2),
        "the unit stays reserved"
    );

    let path = format!("/v1/payments/{payment_id}");
    let waiting = app.get(&path, None).await;
    assert_eq!(waiting.assert_status(200)["status"], "requires_action");
    assert_eq!(waiting.body["client_secret"], action["client_secret"]);
    let still = app.post(&format!("{path}/confirm"), None, json!({})).await;
    assert_eq!(still.assert_status(202)["payment_id"], payment_id.as_str());

    stripe.finish_action(&payment_id, true);
    let event = stripe.event("evt_succeeded", "payment_intent.succeeded", &payment_id);
    let confirm = format!("{path}/confirm");
    let confirms = (0..10).map(|_| app.post(&confirm, None, json!({})));
    let webhooks = (0..10).map(|_| deliver(&app, &event, WEBHOOK_SECRET, now_seconds()));
    let (confirmed, delivered) = tokio::join!(join_all(confirms), join_all(webhooks));
    let order_ids: std::collections::BTreeSet<String> = confirmed
        .iter()
        .map(|response| id_of(response.assert_status(201)))
        .collect();
    assert_eq!(order_ids.len(), 1, "every confirmation answers the one order");
    for response in &delivered {
        response.assert_status(200);
    }
    assert_eq!(app.all_orders(&staff).await.len(), 1);
    assert_eq!((stripe.captures_of(&payment_id), stripe.all_captures()), (1, 1));
    assert_eq!(stripe.intents_for(&payment_id), 1);
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));
    let paid = app.get(&path, None).await;
    assert_eq!(paid.assert_status(200)["status"], "captured");
    assert!(paid.body.get("client_secret").is_none());
}

async fn an_abandoned_action_is_canceled_at_stripe_and_releases_the_stock(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 900).await;
    let action = checkout(&app, &cart, "pm_card_threeDSecure2Required").await;
    let payment_id = action.assert_status(202)["payment_id"].as_str().expect("id").to_owned();
    let canceled = app
        .post(&format!("/v1/payments/{payment_id}/cancel"), None, json!({}))
        .await;
    assert_eq!(canceled.assert_status(200)["status"], "canceled");
    assert_eq!(stripe.intent_for(&payment_id)["status"], "canceled");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    // Again: the same answer, nothing more.
    let again = app
        .post(&format!("/v1/payments/{payment_id}/cancel"), None, json!({}))
        .await;
    assert_eq!(again.assert_status(200)["status"], "canceled");
    checkout(&app, &cart, "pm_card_visa").await.assert_status(201);

    // One the customer never finishes is canceled by the recovery job once its time is up.
    let (cart, variant_id) = cart_of_one(&app, &staff, 900).await;
    let action = checkout(&app, &cart, "pm_card_threeDSecure2Required").await;
    let payment_id = action.assert_status(202)["payment_id"].as_str().expect("id").to_owned();
    app.age("payments", "expires_at", 60 * 60).await;
    app.run_jobs().await;
    assert_eq!(stripe.intent_for(&payment_id)["status"], "canceled");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    let failed = app.get(&format!("/v1/payments/{payment_id}"), None).await;
    assert_eq!(failed.assert_status(200)["status"], "canceled");
}

async fn a_failed_action_is_a_decline(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 900).await;
    let action = checkout(&app, &cart, "pm_card_threeDSecure2Required").await;
    let payment_id = action.assert_status(202)["payment_id"].as_str().expect("id").to_owned();
    stripe.finish_action(&payment_id, false);
    let declined = app
        .post(&format!("/v1/payments/{payment_id}/confirm"), None, json!({}))
        .await;
    declined.assert_problem(402, "payment_declined");
    assert_eq!(declined.body["decline_code"], "payment_intent_authentication_failure");
    assert_eq!(
        stripe.intent_for(&payment_id)["status"],
        "canceled",
        "canceled before the stock is released: the browser's client secret can no longer pay it"
    );
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    assert_eq!(stripe.all_captures(), 0);
}

async fn a_500_after_the_charge_is_looked_up_and_makes_one_order(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 4200).await;
    stripe.set_faults(Faults {
        error_after_charge: true,
        ..Faults::default()
    });
    let order = checkout(&app, &cart, "pm_card_visa").await;
    let payment_id = order.assert_status(201)["payment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(stripe.captures_of(&payment_id), 1);
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));
}

async fn a_timeout_after_the_charge_is_looked_up_and_makes_one_order(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |options| {
        options.checkout.provider_timeout = Duration::from_millis(300);
    })
    .await;
    let staff = app.staff_token().await;
    let (cart, _) = cart_of_one(&app, &staff, 4200).await;
    stripe.set_faults(Faults {
        delay_after_charge: Some(Duration::from_secs(2)),
        ..Faults::default()
    });
    let order = checkout(&app, &cart, "pm_card_visa").await;
    let payment_id = order.assert_status(201)["payment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(stripe.captures_of(&payment_id), 1);
}

/// Stripe charges, then answers 500 and stays down: the outcome is unknown, so the
/// payment stays pending with its stock held; the recovery job learns the outcome once
/// Stripe answers, and a retry with the checkout's key gets the order.
async fn an_unknown_outcome_holds_the_stock_until_recovery_learns_it(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 4200).await;
    stripe.set_faults(Faults {
        error_after_charge: true,
        reads_fail: true,
        ..Faults::default()
    });
    let path = format!("/v1/carts/{cart}/checkout");
    let unknown = app
        .post_idempotent(&path, None, "unknown-key", card("pm_card_visa"))
        .await;
    unknown.assert_problem(502, "payment_provider_error");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 1, 2), "held, not released");
    assert!(app.all_orders(&staff).await.is_empty());

    app.age("payments", "expires_at", 60 * 60).await;
    app.run_jobs().await;
    assert!(
        app.all_orders(&staff).await.is_empty(),
        "Stripe still down: nothing settled"
    );
    stripe.set_faults(Faults::default());
    app.run_jobs().await;
    let orders = app.all_orders(&staff).await;
    assert_eq!(orders.len(), 1, "recovery placed the order");
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));

    app.age("idempotency_keys", "started_at", 24 * 60 * 60).await;
    let retry = app
        .post_idempotent(&path, None, "unknown-key", card("pm_card_visa"))
        .await;
    assert_eq!(retry.assert_status(201)["id"], orders[0]["id"]);
    assert_eq!(stripe.all_captures(), 1, "one charge in the end");
}

async fn manual_capture_authorizes_then_captures_at_fulfilment_or_releases_on_cancel(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |options| options.payments.capture = CaptureMode::Manual).await;
    let staff = app.staff_token().await;
    let (cart, _) = cart_of_one(&app, &staff, 5000).await;
    let order = checkout(&app, &cart, "pm_card_visa").await;
    let order = order.assert_status(201).clone();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["payment"]["status"], "authorized");
    let payment_id = order["payment"]["id"].as_str().expect("id").to_owned();
    assert_eq!(stripe.intent_for(&payment_id)["status"], "requires_capture");
    assert_eq!(stripe.captures_of(&payment_id), 0, "nothing taken before fulfilment");

    let fulfil = format!("/v1/admin/orders/{}/fulfill", id_of(&order));
    let attempts = (0..5).map(|_| app.post(&fulfil, Some(&staff), json!({})));
    let answers = join_all(attempts).await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "one fulfilment succeeds"
    );
    // The others are refused: the order moved on (409), or Stripe answered their capture
    // with its own 409 for a key in use (a 502 here, the order unchanged).
    assert!(answers.iter().all(|a| [200, 409, 502].contains(&a.status)));
    assert_eq!(stripe.captures_of(&payment_id), 1, "captured once");
    let fulfilled = app
        .get(&format!("/v1/admin/orders/{}", id_of(&order)), Some(&staff))
        .await;
    assert_eq!(fulfilled.assert_status(200)["payment"]["status"], "captured");

    let (cart, variant_id) = cart_of_one(&app, &staff, 5000).await;
    let order = checkout(&app, &cart, "pm_card_visa").await.assert_status(201).clone();
    let payment_id = order["payment"]["id"].as_str().expect("id").to_owned();
    let canceled = app
        .post(
            &format!("/v1/admin/orders/{}/cancel", id_of(&order)),
            Some(&staff),
            json!({}),
        )
        .await;
    let canceled = canceled.assert_status(200);
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["payment"]["status"], "canceled");
    assert_eq!(
        canceled["refunds"],
        json!([]),
        "an authorization is released, not refunded"
    );
    assert_eq!(stripe.intent_for(&payment_id)["status"], "canceled");
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
    assert!(stripe.refunds().is_empty());
}

async fn refunds_are_records_with_stripes_answer(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, _) = cart_of_one(&app, &staff, 5000).await;
    let order = checkout(&app, &cart, "pm_card_visa").await.assert_status(201).clone();
    let payment_id = order["payment"]["id"].as_str().expect("id").to_owned();
    let refund = format!("/v1/admin/orders/{}/refund", id_of(&order));
    let refunded = app.post(&refund, Some(&staff), json!({"amount": 1500})).await;
    let refunded = refunded.assert_status(200);
    assert_eq!(refunded["payment"]["status"], "partially_refunded");
    assert_eq!(refunded["refunds"].as_array().map(Vec::len), Some(1));
    assert_eq!(refunded["refunds"][0]["amount"], eur(1500));
    assert_eq!(refunded["refunds"][0]["status"], "succeeded");
    let intent = stripe.intent_for(&payment_id)["id"]
        .as_str()
        .expect("intent")
        .to_owned();
    assert_eq!(stripe.refunds(), vec![(intent, 1500)]);
    let refund_request = stripe
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/refunds")
        .expect("a refund was asked for");
    assert!(
        refund_request
            .idempotency_key
            .as_deref()
            .is_some_and(|key| key.contains(refunded["refunds"][0]["id"].as_str().expect("refund id"))),
        "keyed by the refund's id"
    );
}

async fn webhooks_are_verified_and_applied_once(database_url: String) {
    let (stripe, app) = stripe_shop(&database_url, |_| {}).await;
    let staff = app.staff_token().await;
    let (cart, variant_id) = cart_of_one(&app, &staff, 700).await;
    let action = checkout(&app, &cart, "pm_card_threeDSecure2Required").await;
    let payment_id = action.assert_status(202)["payment_id"].as_str().expect("id").to_owned();
    stripe.finish_action(&payment_id, true);
    let event = stripe.event("evt_once", "payment_intent.succeeded", &payment_id);
    let now = now_seconds();

    deliver(&app, &event, "whsec_someone_else", now)
        .await
        .assert_problem(400, "bad_request");
    deliver(&app, &event, WEBHOOK_SECRET, now - 301)
        .await
        .assert_problem(400, "bad_request");
    let tampered = event.replace("700", "1");
    let signed_original = signature(WEBHOOK_SECRET, now, &event);
    let response = app
        .client
        .post(app.url("/v1/webhooks/stripe"))
        .header("stripe-signature", signed_original)
        .body(tampered)
        .send()
        .await
        .expect("sent");
    read(response).await.assert_problem(400, "bad_request");
    let unsigned = app
        .client
        .post(app.url("/v1/webhooks/stripe"))
        .body(event.clone())
        .send()
        .await
        .expect("sent");
    read(unsigned).await.assert_problem(400, "bad_request");
    assert!(
        app.all_orders(&staff).await.is_empty(),
        "no refused event changed anything"
    );

    // An event naming this payment but another intent is not this payment's.
    let mut misdirected: Value = serde_json::from_str(&event).expect("event");
    misdirected["id"] = json!("evt_misdirected");
    misdirected["data"]["object"]["id"] = json!("pi_someone_else");
    deliver(&app, &misdirected.to_string(), WEBHOOK_SECRET, now)
        .await
        .assert_status(200);
    assert!(app.all_orders(&staff).await.is_empty(), "not ours: ignored");

    let deliveries = (0..10).map(|_| deliver(&app, &event, WEBHOOK_SECRET, now));
    for response in join_all(deliveries).await {
        response.assert_status(200);
    }
    assert_eq!(app.all_orders(&staff).await.len(), 1);
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));
    // Applied once, and remembered: rows touched by a no-op update are the rows there are.
    let recorded = app
        .store
        .execute_unchecked("UPDATE provider_events SET type = type WHERE id = 'evt_once'".to_owned())
        .await
        .expect("count");
    assert_eq!(recorded, 1, "the event id is recorded once");

    // Unknown types and other people's intents are acknowledged and change nothing.
    let unknown = json!({"id": "evt_other", "object": "event", "type": "customer.created", "data": {"object": {}}});
    deliver(&app, &unknown.to_string(), WEBHOOK_SECRET, now)
        .await
        .assert_status(200);
    let foreign = json!({"id": "evt_foreign", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_not_ours", "object": "payment_intent", "status": "succeeded", "amount": 700,
            "currency": "eur", "metadata": {}}}});
    deliver(&app, &foreign.to_string(), WEBHOOK_SECRET, now)
        .await
        .assert_status(200);
    assert_eq!(app.all_orders(&staff).await.len(), 1);
}

crate::database_tests!(
    a_card_is_charged_once_for_the_orders_total,
    a_decline_is_402_with_stripes_decline_code_and_releases_the_stock,
    three_d_secure_is_202_and_confirm_and_webhook_racing_make_one_order,
    an_abandoned_action_is_canceled_at_stripe_and_releases_the_stock,
    a_failed_action_is_a_decline,
    a_500_after_the_charge_is_looked_up_and_makes_one_order,
    a_timeout_after_the_charge_is_looked_up_and_makes_one_order,
    an_unknown_outcome_holds_the_stock_until_recovery_learns_it,
    manual_capture_authorizes_then_captures_at_fulfilment_or_releases_on_cancel,
    refunds_are_records_with_stripes_answer,
    webhooks_are_verified_and_applied_once,
);
