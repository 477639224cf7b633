//! Checkout: the paid order, stock taken or released, payment failures, and what checkout refuses.

use crate::support::*;
use serde_json::{Value, json};

fn checkout_path(cart: &Value) -> String {
    format!("/v1/carts/{}/checkout", id_of(cart))
}

async fn customer_checkout_creates_a_paid_order_and_takes_stock(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1500, 10).await;
    let email = unique_email("Buyer");
    let (token, customer) = app.register(&email).await;
    let cart = app.cart_with(Some(&token), &variant_id, 3).await;

    let response = app
        .post(
            &checkout_path(&cart),
            Some(&token),
            json!({"shipping_address": address(), "payment": {"token": "tok_visa"}}),
        )
        .await;
    let order = response.assert_status(201);
    assert!(id_of(order).starts_with("ord_"), "{order}");
    assert!(!order["number"].is_null(), "orders have a number: {order}");
    assert_eq!(order["customer_id"], customer["id"]);
    assert_eq!(order["email"], email.to_lowercase(), "email defaults to the account's");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["currency"], "EUR");

    let items = order["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["variant_id"], variant_id.as_str());
    assert_eq!(items[0]["sku"], product["variants"][0]["sku"]);
    assert_eq!(items[0]["quantity"], 3);
    assert_money(&items[0]["unit_price"], 1500);
    assert_money(&items[0]["line_total"], 4500);

    assert_money(&order["subtotal"], 4500);
    assert_money(&order["discount_total"], 0);
    assert_money(&order["shipping_total"], 0);
    assert_money(&order["tax_total"], 0);
    assert_money(&order["total"], 4500);
    assert_eq!(order["total"], cart["total"], "the order total is the cart total");

    let payment = &order["payment"];
    assert!(id_of(payment).starts_with("pay_"), "{payment}");
    assert_eq!(payment["status"], "captured");
    assert_money(&payment["amount"], 4500);
    assert_money(&payment["refunded_amount"], 0);

    let expected_address = address();
    for field in ["name", "line1", "city", "postal_code", "country"] {
        assert_eq!(
            order["shipping_address"][field], expected_address[field],
            "shipping_address.{field}"
        );
    }
    assert!(order["tracking_number"].is_null(), "{order}");
    assert_utc_timestamp(&order["created_at"]);
    assert_utc_timestamp(&order["updated_at"]);

    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (7, 0, 7),
        "the sale leaves nothing reserved"
    );
}

async fn guest_checkout_returns_an_order_token(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 800, 5).await;
    let cart = app.cart_with(None, &variant_id, 1).await;
    let response = app.checkout(None, &id_of(&cart), "tok_visa").await;
    let order = response.assert_status(201);
    assert!(order["customer_id"].is_null(), "{order}");
    assert_eq!(order["email"], "buyer@example.com");
    assert_eq!(order["status"], "paid");
    assert!(
        !order["token"]
            .as_str()
            .expect("a guest order carries `token`")
            .is_empty()
    );
    assert_eq!(app.stock(&staff, &variant_id).await, (4, 0, 4));
}

async fn a_guest_cart_checked_out_after_signing_in_is_the_customers_order(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 800, 5).await;
    // Filled before signing in, as a shopper does; paid once signed in.
    let cart = app.cart_with(None, &variant_id, 1).await;
    let (customer, account) = app.customer().await;
    let order = app
        .checkout(Some(&customer), &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["customer_id"], account["id"], "{order}");
    app.get(&format!("/v1/orders/{}", id_of(&order)), Some(&customer))
        .await
        .assert_status(200);
    let own = app.get("/v1/orders", Some(&customer)).await.assert_status(200).clone();
    assert_eq!(ids_in(&own), vec![id_of(&order)]);
}

async fn guest_checkout_without_email_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 800, 5).await;
    let cart = app.cart_with(None, &variant_id, 1).await;
    let mut body = checkout_body("tok_visa");
    body.as_object_mut().expect("object").remove("email");
    app.post(&checkout_path(&cart), None, body)
        .await
        .assert_field_error("email");
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));
}

/// Checks out a guest cart (2 of 5 units) with `payment_token`, which must fail; then shows that
/// the stock is back, the cart still takes changes and a good card completes it. Returns the failure.
async fn failed_payment_then_good_card(app: &TestApp, payment_token: &str) -> Response {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 2500, 5).await;
    let cart = app.cart_with(None, &variant_id, 2).await;

    let failure = app.checkout(None, &id_of(&cart), payment_token).await;
    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (5, 0, 5),
        "a failed payment releases its stock"
    );

    let still_open = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(still_open["items"][0]["quantity"], 2);
    let grown = app
        .post(
            &format!("/v1/carts/{}/items", id_of(&cart)),
            None,
            json!({"variant_id": variant_id, "quantity": 1}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(grown["items"][0]["quantity"], 3, "the cart is still editable");

    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_money(&order["total"], 7500);
    assert_eq!(app.stock(&staff, &variant_id).await, (2, 0, 2));
    failure
}

async fn declined_card_releases_stock_and_keeps_cart_open(app: TestApp) {
    let failure = failed_payment_then_good_card(&app, "tok_chargeDeclined").await;
    failure.assert_problem(402, "payment_declined");
    assert_eq!(failure.body["decline_code"], "generic_decline");
}

async fn insufficient_funds_decline_is_reported_and_stock_released(app: TestApp) {
    let failure = failed_payment_then_good_card(&app, "tok_chargeDeclinedInsufficientFunds").await;
    failure.assert_problem(402, "payment_declined");
    assert_eq!(failure.body["decline_code"], "insufficient_funds");
}

async fn provider_failure_is_502_and_releases_stock(app: TestApp) {
    let failure = failed_payment_then_good_card(&app, "tok_chargeDeclinedProcessingError").await;
    failure.assert_problem(502, "payment_provider_error");
}

async fn unknown_payment_token_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 800, 5).await;
    let cart = app.cart_with(None, &variant_id, 1).await;
    app.checkout(None, &id_of(&cart), "tok_madeUp")
        .await
        .assert_field_error("payment.token");
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));
    app.checkout(None, &id_of(&cart), "tok_visa").await.assert_status(201);
}

async fn empty_cart_cannot_be_checked_out(app: TestApp) {
    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201).clone();
    app.checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_problem(422, "validation_failed");
}

async fn bad_shipping_address_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 800, 5).await;
    let cart = app.cart_with(None, &variant_id, 1).await;

    let mut without_line1 = address();
    without_line1.as_object_mut().expect("object").remove("line1");
    let mut long_country = address();
    long_country["country"] = json!("XX1");
    let mut lower_case_country = address();
    lower_case_country["country"] = json!("gb");

    for bad in [without_line1, long_country, lower_case_country] {
        let mut body = checkout_body("tok_visa");
        body["shipping_address"] = bad.clone();
        let response = app.post(&checkout_path(&cart), None, body).await;
        assert_eq!(response.status, 422, "address {bad} is refused: {}", response.text);
        response.assert_field_error_starting("shipping_address.");
    }
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));
}

async fn out_of_stock_lists_every_short_line(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, scarce) = app.published_product(&staff, 100, 1).await;
    let (_, rare) = app.published_product(&staff, 200, 2).await;
    let (_, plenty) = app.published_product(&staff, 300, 10).await;
    let cart = app.cart_with(None, &scarce, 3).await;
    for (variant_id, quantity) in [(&rare, 5), (&plenty, 1)] {
        app.post(
            &format!("/v1/carts/{}/items", id_of(&cart)),
            None,
            json!({"variant_id": variant_id, "quantity": quantity}),
        )
        .await
        .assert_status(200);
    }

    let response = app.checkout(None, &id_of(&cart), "tok_visa").await;
    response.assert_problem(409, "out_of_stock");
    let short = response.body["variants"].as_array().expect("`variants` in the problem");
    assert_eq!(short.len(), 2, "exactly the two short lines: {}", response.text);
    for (variant_id, requested, available) in [(&scarce, 3, 1), (&rare, 5, 2)] {
        let line = short
            .iter()
            .find(|line| line["variant_id"] == variant_id.as_str())
            .unwrap_or_else(|| panic!("{variant_id} is listed as short: {}", response.text));
        assert_eq!(line["requested"], requested);
        assert_eq!(line["available"], available);
    }

    assert_eq!(app.stock(&staff, &scarce).await, (1, 0, 1));
    assert_eq!(app.stock(&staff, &rare).await, (2, 0, 2));
    assert_eq!(app.stock(&staff, &plenty).await, (10, 0, 10), "nothing stays reserved");

    // The cart can be fixed and checked out.
    let cart = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    for line in cart["items"].as_array().expect("items") {
        let fitting = if line["variant_id"] == scarce.as_str() {
            1
        } else if line["variant_id"] == rare.as_str() {
            2
        } else {
            continue;
        };
        app.patch(
            &format!("/v1/carts/{}/items/{}", id_of(&cart), id_of(line)),
            None,
            json!({"quantity": fitting}),
        )
        .await
        .assert_status(200);
    }
    app.checkout(None, &id_of(&cart), "tok_visa").await.assert_status(201);
    assert_eq!(app.stock(&staff, &scarce).await, (0, 0, 0));
}

async fn checked_out_cart_accepts_no_more_changes(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let (token, _) = app.customer().await;
    let cart = app.cart_with(Some(&token), &variant_id, 1).await;
    let item_path = format!("/v1/carts/{}/items/{}", id_of(&cart), id_of(&cart["items"][0]));
    app.checkout(Some(&token), &id_of(&cart), "tok_visa")
        .await
        .assert_status(201);

    app.checkout(Some(&token), &id_of(&cart), "tok_visa")
        .await
        .assert_problem(409, "conflict");
    app.post(
        &format!("/v1/carts/{}/items", id_of(&cart)),
        Some(&token),
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_problem(409, "conflict");
    app.patch(&item_path, Some(&token), json!({"quantity": 2}))
        .await
        .assert_problem(409, "conflict");
    app.delete(&item_path, Some(&token))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(app.stock(&staff, &variant_id).await, (9, 0, 9), "sold once");
}

crate::backend_tests!(
    customer_checkout_creates_a_paid_order_and_takes_stock,
    guest_checkout_returns_an_order_token,
    a_guest_cart_checked_out_after_signing_in_is_the_customers_order,
    guest_checkout_without_email_is_refused,
    declined_card_releases_stock_and_keeps_cart_open,
    insufficient_funds_decline_is_reported_and_stock_released,
    provider_failure_is_502_and_releases_stock,
    unknown_payment_token_is_refused,
    empty_cart_cannot_be_checked_out,
    bad_shipping_address_is_refused,
    out_of_stock_lists_every_short_line,
    checked_out_cart_accepts_no_more_changes,
);
