//! Cross-cutting conventions: request ids, body rules, problem+json for routing errors, money and time formats.

use crate::support::*;
use serde_json::json;

async fn send_raw(app: &TestApp, path: &str, content_type: &str, body: String) -> Response {
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request reaches the server");
    read(response).await
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let responses = [
        app.get("/healthz", None).await,
        app.post("/v1/carts", None, json!({})).await,
        app.get("/v1/no-such-route", None).await,
        app.get("/v1/me", None).await,
        app.post("/v1/auth/register", None, json!({"email": "bad", "password": "short"}))
            .await,
    ];
    for response in &responses {
        let request_id = response.header("x-request-id").unwrap_or_default();
        assert!(
            !request_id.is_empty(),
            "status {} without x-request-id",
            response.status
        );
    }
    assert_ne!(
        responses[0].header("x-request-id"),
        responses[1].header("x-request-id"),
        "each request gets its own id"
    );
}

async fn given_request_id_is_echoed(app: TestApp) {
    let response = app
        .client
        .get(app.url("/v1/products"))
        .header("x-request-id", "test-request-42")
        .send()
        .await
        .expect("request reaches the server");
    let response = read(response).await;
    response.assert_status(200);
    assert_eq!(response.header("x-request-id"), Some("test-request-42"));
}

async fn body_that_is_not_json_is_415(app: TestApp) {
    let body = json!({"email": unique_email("plain"), "password": PASSWORD}).to_string();
    send_raw(&app, "/v1/auth/register", "text/plain", body)
        .await
        .assert_problem(415, "unsupported_media_type");
}

async fn malformed_json_is_400(app: TestApp) {
    send_raw(
        &app,
        "/v1/auth/register",
        "application/json",
        r#"{"email": "a@example.com", "#.to_owned(),
    )
    .await
    .assert_problem(400, "bad_request");
}

async fn unknown_field_is_422(app: TestApp) {
    let response = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": unique_email("role"), "password": PASSWORD, "role": "admin"}),
        )
        .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["role"], "the unknown field is named as sent");
}

async fn body_over_1_mib_is_413(app: TestApp) {
    let body = json!({"email": unique_email("big"), "password": PASSWORD, "name": "x".repeat(1_100_000)}).to_string();
    send_raw(&app, "/v1/auth/register", "application/json", body)
        .await
        .assert_problem(413, "payload_too_large");
}

async fn unknown_route_is_a_404_problem(app: TestApp) {
    let response = app.get("/v1/no-such-route", None).await;
    response.assert_problem(404, "not_found");
    assert!(
        response.body["type"].is_string(),
        "problems carry `type`: {}",
        response.text
    );
}

async fn wrong_method_on_a_known_route_is_405(app: TestApp) {
    app.send(reqwest::Method::PUT, "/v1/carts", None, Some(json!({})))
        .await
        .assert_problem(405, "method_not_allowed");
    app.delete("/v1/products", None)
        .await
        .assert_problem(405, "method_not_allowed");
}

async fn money_is_integer_minor_units_with_a_currency(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1999, 5).await;
    assert_money(&product["variants"][0]["price"], 1999);

    let cart = app.cart_with(None, &variant_id, 2).await;
    assert_money(&cart["items"][0]["unit_price"], 1999);
    assert_money(&cart["items"][0]["line_total"], 3998);
    for field in ["subtotal", "total"] {
        assert_money(&cart[field], 3998);
    }
    for field in ["discount_total", "shipping_total", "tax_total"] {
        assert_money(&cart[field], 0);
    }

    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    for field in ["subtotal", "total"] {
        assert_money(&order[field], 3998);
    }
    for field in ["discount_total", "shipping_total", "tax_total"] {
        assert_money(&order[field], 0);
    }
    assert_money(&order["items"][0]["unit_price"], 1999);
    assert_money(&order["items"][0]["line_total"], 3998);
    assert_money(&order["payment"]["amount"], 3998);
    assert_money(&order["payment"]["refunded_amount"], 0);
}

async fn timestamps_are_rfc3339_in_utc(app: TestApp) {
    let staff = app.staff_token().await;
    let response = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": unique_email("time"), "password": PASSWORD}),
        )
        .await;
    let registered = response.assert_status(201);
    assert_utc_timestamp(&registered["expires_at"]);
    assert_utc_timestamp(&registered["customer"]["created_at"]);

    let category = app
        .post("/v1/admin/categories", Some(&staff), json!({"name": "Clocks"}))
        .await;
    assert_utc_timestamp(&category.assert_status(201)["created_at"]);

    let (product, variant_id) = app.published_product(&staff, 100, 5).await;
    assert_utc_timestamp(&product["created_at"]);
    assert_utc_timestamp(&product["updated_at"]);

    let cart = app.cart_with(None, &variant_id, 1).await;
    assert_utc_timestamp(&cart["created_at"]);
    assert_utc_timestamp(&cart["updated_at"]);

    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_utc_timestamp(&order["created_at"]);
    assert_utc_timestamp(&order["updated_at"]);
}

crate::backend_tests!(
    every_response_carries_a_request_id,
    given_request_id_is_echoed,
    body_that_is_not_json_is_415,
    malformed_json_is_400,
    unknown_field_is_422,
    body_over_1_mib_is_413,
    unknown_route_is_a_404_problem,
    wrong_method_on_a_known_route_is_405,
    money_is_integer_minor_units_with_a_currency,
    timestamps_are_rfc3339_in_utc,
);
