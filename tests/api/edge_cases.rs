//! Edge cases: refused requests at the limits of every input, each shown to change nothing.

use crate::support::*;
use serde_json::json;

/// A declined card and a provider failure both charge nothing and leave the stock as it was.
async fn failed_payments_capture_nothing_and_keep_stock(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1200, 5).await;
    for (payment_token, status, code) in [
        ("tok_chargeDeclined", 402, "payment_declined"),
        ("tok_chargeDeclinedProcessingError", 502, "payment_provider_error"),
    ] {
        let cart = app.cart_with(None, &variant_id, 2).await;
        app.checkout(None, &id_of(&cart), payment_token)
            .await
            .assert_problem(status, code);
        assert_eq!(app.captures().await, 0, "{payment_token} captures nothing");
        assert_eq!(
            app.stock(&staff, &variant_id).await,
            (5, 0, 5),
            "{payment_token} leaves the stock as it was"
        );
    }
}

/// A refund above what is left, of 0 or of -1 is 422 on `amount` and refunds nothing.
async fn refund_above_what_is_left_is_refused_and_refunds_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    let (token, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&token), 1000, 1, 5).await;
    let id = id_of(&order);
    let refund_path = format!("/v1/admin/orders/{id}/refund");
    let order_path = format!("/v1/admin/orders/{id}");

    app.post(&refund_path, Some(&staff), json!({"amount": 400}))
        .await
        .assert_status(200);
    for amount in [601, 0, -1] {
        app.post(&refund_path, Some(&staff), json!({"amount": amount}))
            .await
            .assert_field_error("amount");
        let now = app.get(&order_path, Some(&staff)).await.assert_status(200).clone();
        assert_money(&now["payment"]["refunded_amount"], 400);
        assert_eq!(now["payment"]["status"], "partially_refunded", "after amount {amount}");
        assert_eq!(now["status"], "paid");
    }

    // Exactly what is left can still be refunded.
    let refunded = app
        .post(&refund_path, Some(&staff), json!({"amount": 600}))
        .await
        .assert_status(200)
        .clone();
    assert_money(&refunded["payment"]["refunded_amount"], 1000);
    assert_eq!(refunded["payment"]["status"], "refunded");
}

/// A delta beyond a billion either way (up to i64::MIN) is 422 on `delta`; stock unchanged.
async fn inventory_adjust_out_of_range_is_refused_and_stock_unchanged(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 500, 7).await;
    let path = format!("/v1/admin/inventory/{variant_id}/adjust");
    for delta in [1_000_000_001_i64, i64::MIN] {
        app.post(&path, Some(&staff), json!({"delta": delta, "reason": "count"}))
            .await
            .assert_field_error("delta");
        assert_eq!(
            app.stock(&staff, &variant_id).await,
            (7, 0, 7),
            "delta {delta} changed nothing"
        );
    }
}

/// Adding one more to a line of 999 is 422 on `quantity`; the line stays at 999.
async fn adding_to_a_full_line_is_refused_and_the_cart_unchanged(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 5).await;
    let (token, _) = app.customer().await;
    let cart = app.cart_with(Some(&token), &variant_id, 999).await;
    assert_eq!(cart["items"][0]["quantity"], 999);
    let cart_path = format!("/v1/carts/{}", id_of(&cart));

    app.post(
        &format!("{cart_path}/items"),
        Some(&token),
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_field_error("quantity");

    let after = app.get(&cart_path, Some(&token)).await.assert_status(200).clone();
    assert_eq!(after["items"].as_array().expect("items").len(), 1, "{after}");
    assert_eq!(after["items"][0]["quantity"], 999);
    assert_eq!(after["version"], cart["version"], "a refused change is no change");
    assert_eq!(after["total"], cart["total"]);
}

/// Nobody but its owner can see, check out or edit a customer's cart; an unknown item is 404.
async fn another_customer_cannot_check_out_or_edit_a_customers_cart(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1500, 5).await;
    let (owner, _) = app.customer().await;
    let (intruder, _) = app.customer().await;
    let cart = app.cart_with(Some(&owner), &variant_id, 2).await;
    let cart_id = id_of(&cart);
    let cart_path = format!("/v1/carts/{cart_id}");
    let item_path = format!("{cart_path}/items/{}", id_of(&cart["items"][0]));

    app.get(&cart_path, Some(&intruder))
        .await
        .assert_problem(404, "not_found");
    app.checkout(Some(&intruder), &cart_id, "tok_visa")
        .await
        .assert_problem(404, "not_found");
    app.patch(&item_path, Some(&intruder), json!({"quantity": 5}))
        .await
        .assert_problem(404, "not_found");
    app.delete(&item_path, Some(&intruder))
        .await
        .assert_problem(404, "not_found");
    app.patch(
        &format!("{cart_path}/items/item_doesnotexist"),
        Some(&owner),
        json!({"quantity": 3}),
    )
    .await
    .assert_problem(404, "not_found");

    let after = app.get(&cart_path, Some(&owner)).await.assert_status(200).clone();
    assert_eq!(after["items"], cart["items"], "the owner's cart is as it was");
    assert_eq!(after["version"], cart["version"]);
    assert_eq!(app.captures().await, 0);
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));

    // Still the owner's to buy.
    app.checkout(Some(&owner), &cart_id, "tok_visa")
        .await
        .assert_status(201);
}

/// A lower-case currency is 422, and so is one the shop does not sell in; a USD cart
/// refuses a EUR-priced variant.
async fn cart_currency_must_be_upper_case_and_match_its_variants(app: TestApp) {
    app.post("/v1/carts", None, json!({"currency": "eur"}))
        .await
        .assert_field_error("currency");

    let staff = app.staff_token().await;
    app.post("/v1/carts", None, json!({"currency": "USD"}))
        .await
        .assert_field_error("currency");
    app.patch("/v1/admin/shop", Some(&staff), json!({"currencies": ["EUR", "USD"]}))
        .await
        .assert_status(200);
    let (_, variant_id) = app.published_product(&staff, 700, 5).await;
    let usd = app
        .post("/v1/carts", None, json!({"currency": "USD"}))
        .await
        .assert_status(201)
        .clone();
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["total"], json!({"amount": 0, "currency": "USD"}));

    let cart_path = format!("/v1/carts/{}", id_of(&usd));
    app.post(
        &format!("{cart_path}/items"),
        None,
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_error_on("not_sold_in_currency", "variant_id");

    let after = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(after["items"], json!([]), "nothing was added: {after}");
    assert_eq!(after["version"], usd["version"]);
    assert_eq!(after["currency"], "USD");
}

/// A product unpublished after it went into a cart cannot be checked out; nothing is taken.
async fn checkout_refuses_a_product_unpublished_after_it_was_added(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 900, 4).await;
    let cart = app.cart_with(None, &variant_id, 1).await;
    let product_path = format!("/v1/admin/products/{}", id_of(&product));
    app.patch(&product_path, Some(&staff), json!({"status": "draft"}))
        .await
        .assert_status(200);

    app.checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_field_error_starting("items");
    assert_eq!(app.stock(&staff, &variant_id).await, (4, 0, 4));
    assert_eq!(app.captures().await, 0);

    // The refusal left the cart open: published again, it checks out.
    app.patch(&product_path, Some(&staff), json!({"status": "published"}))
        .await
        .assert_status(200);
    app.checkout(None, &id_of(&cart), "tok_visa").await.assert_status(201);
    assert_eq!(app.stock(&staff, &variant_id).await, (3, 0, 3));
}

/// An invalid body on a staff route is 401 for no one and 403 for a customer: the caller
/// is checked before the body.
async fn staff_routes_check_the_caller_before_the_body(app: TestApp) {
    app.post("/v1/admin/products", None, json!({}))
        .await
        .assert_problem(401, "unauthorized");
    let (customer, _) = app.customer().await;
    app.post("/v1/admin/products", Some(&customer), json!({}))
        .await
        .assert_problem(403, "forbidden");

    let staff = app.staff_token().await;
    app.post("/v1/admin/products", Some(&staff), json!({}))
        .await
        .assert_problem(422, "validation_failed");
    let products = app
        .get("/v1/admin/products", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    assert!(ids_in(&products).is_empty(), "no product was made: {products}");
}

/// Logout needs a token; a token that names no session is 401 wherever it is sent.
async fn missing_or_bad_token_is_unauthorized(app: TestApp) {
    app.send(reqwest::Method::POST, "/v1/auth/logout", None, None)
        .await
        .assert_problem(401, "unauthorized");
    app.post("/v1/carts", Some("nonsense"), json!({}))
        .await
        .assert_problem(401, "unauthorized");
}

/// A key over 255 characters is 400; a 401 and a malformed body are not stored, so the
/// same key then works.
async fn idempotency_key_length_is_checked_and_unhandled_requests_are_not_stored(app: TestApp) {
    let (token, _) = app.customer().await;

    let too_long = "k".repeat(256);
    app.post_idempotent("/v1/carts", Some(&token), &too_long, json!({}))
        .await
        .assert_problem(400, "bad_request");
    let longest = "k".repeat(255);
    app.post_idempotent("/v1/carts", Some(&token), &longest, json!({}))
        .await
        .assert_status(201);

    // A 401 ends before handling begins: not stored.
    app.post_idempotent("/v1/carts", Some("nonsense"), "after-401", json!({}))
        .await
        .assert_problem(401, "unauthorized");
    let created = app
        .post_idempotent("/v1/carts", Some(&token), "after-401", json!({}))
        .await;
    created.assert_status(201);
    assert_eq!(created.header("idempotent-replayed"), None, "the 401 was not replayed");

    // Neither is a 400 for a body that is not JSON.
    let malformed = app
        .client
        .post(app.url("/v1/carts"))
        .bearer_auth(&token)
        .header("idempotency-key", "after-400")
        .header("content-type", "application/json")
        .body("{\"currency\": ")
        .send()
        .await
        .expect("request reaches the server");
    read(malformed).await.assert_problem(400, "bad_request");
    let retried = app
        .post_idempotent("/v1/carts", Some(&token), "after-400", json!({}))
        .await;
    retried.assert_status(201);
    assert_eq!(retried.header("idempotent-replayed"), None);

    // The 201 is what the key now holds.
    let replay = app
        .post_idempotent("/v1/carts", Some(&token), "after-400", json!({}))
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.text, retried.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}

/// `limit` outside 1..=100 and an unknown `status` are 422; a walk with `limit=1` sees
/// every order once, newest first.
async fn list_parameters_are_validated_and_a_cursor_walk_sees_every_order_once(app: TestApp) {
    let staff = app.staff_token().await;
    let (token, _) = app.customer().await;
    app.get("/v1/orders?limit=0", Some(&token))
        .await
        .assert_field_error("limit");
    app.get("/v1/admin/orders?status=bogus", Some(&staff))
        .await
        .assert_field_error("status");
    app.get("/v1/categories?limit=101", None)
        .await
        .assert_field_error("limit");

    let mut created = Vec::new();
    for _ in 0..3 {
        let (order, _) = app.paid_order(&staff, Some(&token), 500, 1, 5).await;
        created.push(id_of(&order));
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/admin/orders?limit=1".to_owned();
    loop {
        pages += 1;
        assert!(pages <= 3, "three orders in pages of one take three pages");
        let page = app.get(&path, Some(&staff)).await.assert_status(200).clone();
        let ids = ids_in(&page);
        assert_eq!(ids.len(), 1, "each page holds one order: {page}");
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/admin/orders?limit=1&cursor={}", encode_query(cursor)),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                break;
            }
        }
    }
    assert_eq!(seen, created, "every order exactly once, newest first");
}

/// Each bad part of a new product is named by its path; none of them makes a product.
async fn product_create_validation_names_each_bad_field(app: TestApp) {
    let staff = app.staff_token().await;
    let body = |sku: &str| {
        json!({
            "title": "Checked Mug",
            "status": "published",
            "variants": [{"sku": sku, "price": eur(1000), "inventory": 3}]
        })
    };

    let mut negative_price = body("BAD-1");
    negative_price["variants"][0]["price"]["amount"] = json!(-1);
    let mut lower_case_currency = body("BAD-2");
    lower_case_currency["variants"][0]["price"]["currency"] = json!("eur");
    let mut no_variants = body("BAD-3");
    no_variants["variants"] = json!([]);
    let mut negative_inventory = body("BAD-4");
    negative_inventory["variants"][0]["inventory"] = json!(-1);
    let mut unknown_category = body("BAD-5");
    unknown_category["category_ids"] = json!(["cat_nope"]);

    for (bad, field) in [
        (negative_price, "variants[0].price.amount"),
        (lower_case_currency, "variants[0].price.currency"),
        (no_variants, "variants"),
        (negative_inventory, "variants[0].inventory"),
        (unknown_category, "category_ids[0]"),
    ] {
        app.post("/v1/admin/products", Some(&staff), bad)
            .await
            .assert_field_error(field);
    }
    let products = app
        .get("/v1/admin/products", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    assert!(ids_in(&products).is_empty(), "no product was made: {products}");

    // The same body without the fault is accepted.
    app.post("/v1/admin/products", Some(&staff), body("GOOD-1"))
        .await
        .assert_status(201);
}

/// NUL bytes, invalid UTF-8 and trailing garbage are refused as 4xx problems, never 500.
async fn odd_input_is_refused_without_a_server_error(app: TestApp) {
    app.get("/v1/products/%00", None).await.assert_problem(404, "not_found");

    // A form feed is not JSON's whitespace: the optional body is malformed, not empty.
    let form_feed = reqwest::Client::new()
        .post(app.url("/v1/carts"))
        .header("content-type", "application/json")
        .body("\u{c}")
        .send()
        .await
        .expect("request");
    assert_eq!(form_feed.status().as_u16(), 400, "{:?}", form_feed.text().await);

    let cart = app.get("/v1/carts/%FF", None).await;
    assert!(
        cart.status == 400 || cart.status == 404,
        "invalid UTF-8 in a path is 400 or 404, got {}: {}",
        cart.status,
        cart.text
    );
    assert_eq!(cart.header("content-type"), Some("application/problem+json"));
    assert_eq!(cart.body["status"], cart.status);

    app.get("/v1/products?q=%00", None)
        .await
        .assert_problem(422, "validation_failed");

    let email = unique_email("nul");
    app.post(
        "/v1/auth/register",
        None,
        json!({"email": email, "password": PASSWORD, "name": "a\u{0}b"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await
        .assert_problem(401, "unauthorized");

    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 300, 5).await;
    let cart = app.post("/v1/carts", None, json!({})).await.assert_status(201).clone();
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let trailing = app
        .client
        .post(app.url(&format!("{cart_path}/items")))
        .header("content-type", "application/json")
        .body(format!("{{\"variant_id\":\"{variant_id}\",\"quantity\":1}}garbage"))
        .send()
        .await
        .expect("request reaches the server");
    read(trailing).await.assert_problem(400, "bad_request");
    let after = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(after["items"], json!([]), "nothing was added: {after}");
    assert_eq!(after["version"], cart["version"]);
}

/// Search lower-cases non-ASCII letters too: "übergroße" and "ÜBERGROßE" both find the mug.
async fn search_matches_non_ascii_titles_in_any_case(app: TestApp) {
    let staff = app.staff_token().await;
    let product = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({
                "title": "Übergroße Tasse",
                "status": "published",
                "variants": [{"sku": "TASSE-XL", "price": eur(1800), "inventory": 4}]
            }),
        )
        .await
        .assert_status(201)
        .clone();
    app.published_product(&staff, 500, 1).await;

    for q in ["übergroße", "ÜBERGROßE"] {
        let list = app
            .get(&format!("/v1/products?q={}", encode_query(q)), None)
            .await
            .assert_status(200)
            .clone();
        assert_eq!(ids_in(&list), vec![id_of(&product)], "q={q} finds the mug only");
    }
}

/// A staff member's email cannot be taken by a customer, in any case; the staff account
/// still works.
async fn registering_with_a_staff_email_is_a_conflict(app: TestApp) {
    let email = unique_email("boss");
    backroom::domain::accounts::staff::create_admin(&app.store, &email, PASSWORD)
        .await
        .expect("create admin");

    for attempt in [email.clone(), email.to_uppercase()] {
        app.post(
            "/v1/auth/register",
            None,
            json!({"email": attempt, "password": PASSWORD, "name": "Impostor"}),
        )
        .await
        .assert_problem(409, "conflict");
    }

    let login = app
        .post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await
        .assert_status(200)
        .clone();
    assert!(
        login["staff"].is_object(),
        "the email still names the staff account: {login}"
    );
    assert!(login.get("customer").is_none(), "{login}");
}

crate::backend_tests!(
    failed_payments_capture_nothing_and_keep_stock,
    refund_above_what_is_left_is_refused_and_refunds_nothing,
    inventory_adjust_out_of_range_is_refused_and_stock_unchanged,
    adding_to_a_full_line_is_refused_and_the_cart_unchanged,
    another_customer_cannot_check_out_or_edit_a_customers_cart,
    cart_currency_must_be_upper_case_and_match_its_variants,
    checkout_refuses_a_product_unpublished_after_it_was_added,
    staff_routes_check_the_caller_before_the_body,
    missing_or_bad_token_is_unauthorized,
    idempotency_key_length_is_checked_and_unhandled_requests_are_not_stored,
    list_parameters_are_validated_and_a_cursor_walk_sees_every_order_once,
    product_create_validation_names_each_bad_field,
    odd_input_is_refused_without_a_server_error,
    search_matches_non_ascii_titles_in_any_case,
    registering_with_a_staff_email_is_a_conflict,
);
