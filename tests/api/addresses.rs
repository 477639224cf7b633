//! A customer's saved addresses, and the guest cart a login brings along.

use serde_json::{Value, json};

use crate::support::*;

fn line_quantities(cart: &Value) -> Vec<(String, i64)> {
    let mut lines: Vec<(String, i64)> = cart["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| {
            (
                line["variant_id"].as_str().expect("variant").to_owned(),
                line["quantity"].as_i64().expect("quantity"),
            )
        })
        .collect();
    lines.sort();
    lines
}

async fn saved_addresses_are_the_customers_own(app: TestApp) {
    let (owner, _) = app.customer().await;
    let (other, _) = app.customer().await;
    let saved = app.post("/v1/me/addresses", Some(&owner), address()).await;
    let saved = saved.assert_status(201).clone();
    assert!(saved["id"].as_str().expect("id").starts_with("adr_"));
    assert_eq!(saved["address"]["city"], address()["city"]);

    let listed = app.get("/v1/me/addresses", Some(&owner)).await;
    assert_eq!(listed.assert_status(200)["data"], json!([saved.clone()]));
    let theirs = app.get("/v1/me/addresses", Some(&other)).await;
    assert_eq!(
        theirs.assert_status(200)["data"],
        json!([]),
        "each customer sees their own"
    );

    let path = format!("/v1/me/addresses/{}", saved["id"].as_str().expect("id"));
    app.delete(&path, Some(&other)).await.assert_problem(404, "not_found");
    assert_eq!(app.delete(&path, Some(&owner)).await.status, 204);
    let listed = app.get("/v1/me/addresses", Some(&owner)).await;
    assert_eq!(listed.assert_status(200)["data"], json!([]));
}

async fn a_bad_address_is_refused_by_field_and_the_book_has_a_limit(app: TestApp) {
    let (owner, _) = app.customer().await;
    let mut bad = address();
    bad["country"] = json!("xx");
    bad["line1"] = json!("  ");
    // Longer than the document's maxLength of 40: refused, even though it is blank and
    // would come to nothing once trimmed.
    bad["phone"] = json!("\u{85}".repeat(41));
    let refused = app.post("/v1/me/addresses", Some(&owner), bad).await;
    refused.assert_problem(422, "validation_failed");
    let mut fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|error| error["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["country", "line1", "phone"]);

    for _ in 0..20 {
        app.post("/v1/me/addresses", Some(&owner), address())
            .await
            .assert_status(201);
    }
    let over = app.post("/v1/me/addresses", Some(&owner), address()).await;
    over.assert_problem(422, "validation_failed");
    let listed = app.get("/v1/me/addresses", Some(&owner)).await;
    assert_eq!(listed.assert_status(200)["data"].as_array().map(Vec::len), Some(20));
}

async fn login(app: &TestApp, email: &str, cart_id: &str) -> Value {
    let body = json!({"email": email, "password": PASSWORD, "cart_id": cart_id});
    app.post("/v1/auth/login", None, body).await.assert_status(200).clone()
}

async fn logging_in_merges_the_guest_cart_into_the_customers(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, a) = app.published_product(&staff, 1000, 5).await;
    let (_, b) = app.published_product(&staff, 1000, 5).await;
    let (_, c) = app.published_product(&staff, 1000, 5).await;
    let email = unique_email("merge");
    let (token, _) = app.register(&email).await;
    let own = app.cart_with(Some(&token), &a, 1).await;
    let own_id = own["id"].as_str().expect("cart id").to_owned();
    app.post(
        &format!("/v1/carts/{own_id}/items"),
        Some(&token),
        json!({"variant_id": b, "quantity": 2}),
    )
    .await
    .assert_status(200);
    let guest = app.cart_with(None, &a, 2).await;
    let guest_id = guest["id"].as_str().expect("cart id").to_owned();
    app.post(
        &format!("/v1/carts/{guest_id}/items"),
        None,
        json!({"variant_id": c, "quantity": 1}),
    )
    .await
    .assert_status(200);

    let session = login(&app, &email, &guest_id).await;
    assert_eq!(
        session["cart_id"],
        own_id.as_str(),
        "the customer's cart holds the lines now"
    );
    let token = session["token"].as_str().expect("token");
    let merged = app.get(&format!("/v1/carts/{own_id}"), Some(token)).await;
    let mut expected = vec![(a, 3), (b, 2), (c, 1)];
    expected.sort();
    assert_eq!(line_quantities(merged.assert_status(200)), expected);
    let left = app.get(&format!("/v1/carts/{guest_id}"), None).await;
    assert_eq!(left.assert_status(200)["items"], json!([]), "nothing is counted twice");
}

async fn a_guest_cart_becomes_the_customers_when_they_have_none(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let email = unique_email("adopt");
    app.register(&email).await;
    let guest = app.cart_with(None, &variant, 2).await;
    let guest_id = guest["id"].as_str().expect("cart id");

    let session = login(&app, &email, guest_id).await;
    assert_eq!(session["cart_id"], guest_id);
    let token = session["token"].as_str().expect("token");
    let cart = app.get(&format!("/v1/carts/{guest_id}"), Some(token)).await;
    assert_eq!(line_quantities(cart.assert_status(200)), vec![(variant, 2)]);
    assert_eq!(cart.body["customer_id"], session["customer"]["id"]);
}

/// A double click on "Sign in": the guest cart is taken once, its lines neither doubled
/// nor lost.
async fn two_logins_at_once_take_the_guest_cart_once(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let email = unique_email("twice");
    app.register(&email).await;
    let guest = app.cart_with(None, &variant, 2).await;
    let guest_id = guest["id"].as_str().expect("id");
    let (first, second) = tokio::join!(login(&app, &email, guest_id), login(&app, &email, guest_id));
    let named: Vec<&Value> = [&first["cart_id"], &second["cart_id"]]
        .into_iter()
        .filter(|id| !id.is_null())
        .collect();
    assert!(!named.is_empty(), "one of them took the cart");
    let token = first["token"].as_str().expect("token");
    for cart_id in named {
        let cart = app
            .get(&format!("/v1/carts/{}", cart_id.as_str().expect("id")), Some(token))
            .await;
        assert_eq!(line_quantities(cart.assert_status(200)), vec![(variant.clone(), 2)]);
    }
}

async fn a_merged_line_stops_at_its_limit_and_others_carts_are_not_taken(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let email = unique_email("limit");
    let (token, _) = app.register(&email).await;
    let own = app.cart_with(Some(&token), &variant, 998).await;
    let guest = app.cart_with(None, &variant, 5).await;
    let session = login(&app, &email, guest["id"].as_str().expect("id")).await;
    let own_id = own["id"].as_str().expect("id");
    let merged = app.get(&format!("/v1/carts/{own_id}"), Some(&token)).await;
    assert_eq!(line_quantities(merged.assert_status(200)), vec![(variant.clone(), 999)]);
    assert_eq!(session["cart_id"], own_id);

    // Another customer's cart is theirs: a login naming it changes nothing.
    let (someone, _) = app.customer().await;
    let theirs = app.cart_with(Some(&someone), &variant, 1).await;
    let theirs_id = theirs["id"].as_str().expect("id");
    let session = login(&app, &email, theirs_id).await;
    assert!(session.get("cart_id").is_none(), "{session}");
    let untouched = app.get(&format!("/v1/carts/{theirs_id}"), Some(&someone)).await;
    assert_eq!(line_quantities(untouched.assert_status(200)), vec![(variant, 1)]);
}

crate::backend_tests!(
    saved_addresses_are_the_customers_own,
    a_bad_address_is_refused_by_field_and_the_book_has_a_limit,
    logging_in_merges_the_guest_cart_into_the_customers,
    a_guest_cart_becomes_the_customers_when_they_have_none,
    a_merged_line_stops_at_its_limit_and_others_carts_are_not_taken,
    two_logins_at_once_take_the_guest_cart_once,
);
