//! Idempotency keys on POST: byte-for-byte replays without second side effects, reuse errors, per-caller keys.

use crate::support::*;
use serde_json::json;

#[track_caller]
fn assert_replay_of(first: &Response, replay: &Response) {
    assert_ne!(
        first.header("idempotent-replayed"),
        Some("true"),
        "the first response is not a replay"
    );
    assert_eq!(
        replay.status, first.status,
        "a replay keeps the status: {}",
        replay.text
    );
    assert_eq!(replay.text, first.text, "a replay is byte-for-byte the first response");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"), "a replay says so");
}

async fn replayed_cart_creation_returns_the_same_cart(app: TestApp) {
    let first = app.post_idempotent("/v1/carts", None, "cart-key-1", json!({})).await;
    first.assert_status(201);
    let replay = app.post_idempotent("/v1/carts", None, "cart-key-1", json!({})).await;
    assert_replay_of(&first, &replay);
    assert_eq!(replay.body["id"], first.body["id"], "one cart, not two");

    let other = app.post_idempotent("/v1/carts", None, "cart-key-2", json!({})).await;
    assert_ne!(
        other.assert_status(201)["id"],
        first.body["id"],
        "a new key is a new request"
    );
}

async fn replayed_item_addition_adds_once(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201).clone();
    let path = format!("/v1/carts/{}/items", id_of(&cart));
    let body = json!({"variant_id": variant_id, "quantity": 2});

    let first = app.post_idempotent(&path, None, "add-once", body.clone()).await;
    first.assert_status(200);
    let replay = app.post_idempotent(&path, None, "add-once", body).await;
    assert_replay_of(&first, &replay);

    let now = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(now["items"][0]["quantity"], 2, "the line grew once");
}

async fn replayed_checkout_returns_the_same_order_and_takes_stock_once(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1000, 10).await;
    let (token, _) = app.customer().await;
    let cart = app.cart_with(Some(&token), &variant_id, 2).await;
    let path = format!("/v1/carts/{}/checkout", id_of(&cart));

    let first = app
        .post_idempotent(&path, Some(&token), "checkout-1", checkout_body("tok_visa"))
        .await;
    first.assert_status(201);
    let replay = app
        .post_idempotent(&path, Some(&token), "checkout-1", checkout_body("tok_visa"))
        .await;
    assert_replay_of(&first, &replay);
    assert_eq!(replay.body["id"], first.body["id"]);

    assert_eq!(app.stock(&staff, &variant_id).await, (8, 0, 8), "stock is taken once");
    let orders = app.get("/v1/orders", Some(&token)).await.assert_status(200).clone();
    assert_eq!(ids_in(&orders), vec![id_of(&first.body)], "one order");
}

async fn same_key_with_a_different_body_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201).clone();
    let path = format!("/v1/carts/{}/items", id_of(&cart));

    app.post_idempotent(&path, None, "reused", json!({"variant_id": variant_id, "quantity": 1}))
        .await
        .assert_status(200);
    app.post_idempotent(&path, None, "reused", json!({"variant_id": variant_id, "quantity": 2}))
        .await
        .assert_problem(422, "idempotency_key_reused");

    let now = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(now["items"][0]["quantity"], 1, "the refused request changed nothing");
}

async fn same_key_on_another_path_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let cart = app.post_idempotent("/v1/carts", None, "one-key", json!({})).await;
    cart.assert_status(201);
    app.post_idempotent(
        &format!("/v1/carts/{}/items", id_of(&cart.body)),
        None,
        "one-key",
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
}

async fn keys_belong_to_their_caller(app: TestApp) {
    let (alice, alice_customer) = app.customer().await;
    let (bob, bob_customer) = app.customer().await;
    let alices = app
        .post_idempotent("/v1/carts", Some(&alice), "shared-key", json!({}))
        .await;
    let bobs = app
        .post_idempotent("/v1/carts", Some(&bob), "shared-key", json!({}))
        .await;

    assert_eq!(alices.assert_status(201)["customer_id"], alice_customer["id"]);
    assert_eq!(bobs.assert_status(201)["customer_id"], bob_customer["id"]);
    assert_ne!(alices.body["id"], bobs.body["id"], "each caller gets its own result");
    assert_ne!(bobs.header("idempotent-replayed"), Some("true"));
}

async fn declined_checkout_replays_as_402_and_a_new_key_can_succeed(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1000, 5).await;
    let cart = app.cart_with(None, &variant_id, 1).await;
    let path = format!("/v1/carts/{}/checkout", id_of(&cart));

    let declined = app
        .post_idempotent(&path, None, "pay-1", checkout_body("tok_chargeDeclined"))
        .await;
    declined.assert_problem(402, "payment_declined");
    let replay = app
        .post_idempotent(&path, None, "pay-1", checkout_body("tok_chargeDeclined"))
        .await;
    assert_replay_of(&declined, &replay);
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));

    let paid = app
        .post_idempotent(&path, None, "pay-2", checkout_body("tok_visa"))
        .await;
    assert_eq!(paid.assert_status(201)["status"], "paid");
    assert_eq!(app.stock(&staff, &variant_id).await, (4, 0, 4));
}

crate::backend_tests!(
    replayed_cart_creation_returns_the_same_cart,
    replayed_item_addition_adds_once,
    replayed_checkout_returns_the_same_order_and_takes_stock_once,
    same_key_with_a_different_body_is_refused,
    same_key_on_another_path_is_refused,
    keys_belong_to_their_caller,
    declined_checkout_replays_as_402_and_a_new_key_can_succeed,
);
