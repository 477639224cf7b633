//! Discounts (contract: Discounts): staff define them, customers apply codes, automatic
//! ones apply by themselves, orders keep them, and a use is never taken twice.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::*;

const DISCOUNTS: &str = "/v1/admin/discounts";

async fn create(app: &TestApp, staff: &str, body: Value) -> Value {
    app.post(DISCOUNTS, Some(staff), body).await.assert_status(201).clone()
}

/// A guest cart holding `quantity` of the variant, shipping to the test address.
async fn cart(app: &TestApp, variant_id: &str, quantity: i64) -> String {
    id_of(&app.cart_with(None, variant_id, quantity).await)
}

async fn apply(app: &TestApp, cart: &str, code: &str) -> Response {
    app.post(&format!("/v1/carts/{cart}/discount-codes"), None, json!({"code": code}))
        .await
}

async fn times_used(app: &TestApp, staff: &str, id: &str) -> Value {
    app.get(&format!("{DISCOUNTS}/{id}"), Some(staff))
        .await
        .assert_status(200)
        .clone()
}

async fn staff_define_discounts_and_see_their_use(app: TestApp) {
    let staff = app.staff_token().await;
    let created = create(
        &app,
        &staff,
        json!({"code": "Save10", "kind": "percentage", "percentage_bps": 1000,
               "starts_at": "2026-01-01T00:00:00Z", "usage_limit": 100}),
    )
    .await;
    let id = id_of(&created);
    assert!(id.starts_with("dsc_"), "{id}");
    assert_utc_timestamp(&created["created_at"]);
    let expected = json!({"id": id, "code": "Save10", "description": "10 % off", "kind": "percentage",
        "percentage_bps": 1000, "amount": null, "currency": null, "min_subtotal": null,
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": null, "usage_limit": 100,
        "usage_limit_per_customer": null, "product_ids": [], "category_ids": [], "combinable": false,
        "active": true, "times_used": 0, "created_at": created["created_at"], "updated_at": created["updated_at"]});
    assert_eq!(created, expected);
    let detail = times_used(&app, &staff, &id).await;
    assert_eq!(detail["order_ids"], json!([]));

    let fixed = create(
        &app,
        &staff,
        json!({"kind": "fixed_amount", "amount": 500, "currency": "EUR", "min_subtotal": 3000,
               "description": "Five off orders over thirty", "combinable": true}),
    )
    .await;
    assert_eq!(fixed["code"], Value::Null, "no code: automatic");
    assert_eq!(fixed["amount"], eur(500));
    assert_eq!(fixed["min_subtotal"], eur(3000));
    let list = app.get(DISCOUNTS, Some(&staff)).await;
    assert_eq!(ids_in(list.assert_status(200)), vec![id_of(&fixed), id.clone()]);

    let path = format!("{DISCOUNTS}/{id}");
    let changed = app
        .patch(&path, Some(&staff), json!({"active": false, "starts_at": null}))
        .await;
    assert_eq!(changed.assert_status(200)["active"], false);
    assert_eq!(changed.body["starts_at"], Value::Null, "null clears");
    app.post(
        DISCOUNTS,
        Some(&staff),
        json!({"code": "SAVE10", "kind": "free_shipping"}),
    )
    .await
    .assert_problem(409, "conflict");
    app.delete(&path, Some(&staff)).await.assert_status(204);
    app.get(&path, Some(&staff)).await.assert_problem(404, "not_found");
}

async fn bad_discounts_are_refused_by_field_and_write_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    for (body, field) in [
        (json!({"kind": "percentage", "percentage_bps": 10001}), "percentage_bps"),
        (json!({"kind": "percentage"}), "percentage_bps"),
        (json!({"kind": "percentage", "percentage_bps": 0}), "percentage_bps"),
        (
            json!({"kind": "fixed_amount", "amount": -1, "currency": "EUR"}),
            "amount",
        ),
        (json!({"kind": "fixed_amount", "amount": 500}), "currency"),
        (json!({"kind": "free_shipping", "min_subtotal": 500}), "currency"),
        (json!({"kind": "free_shipping", "currency": "eur"}), "currency"),
        (
            json!({"kind": "free_shipping", "amount": 5, "currency": "EUR"}),
            "amount",
        ),
        (
            json!({"kind": "free_shipping", "starts_at": "2026-12-24T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}),
            "ends_at",
        ),
        (json!({"kind": "free_shipping", "starts_at": "Christmas"}), "starts_at"),
        (json!({"kind": "free_shipping", "code": "TWO WORDS"}), "code"),
        (json!({"kind": "free_shipping", "code": "X".repeat(65)}), "code"),
        (json!({"kind": "free_shipping", "code": ""}), "code"),
        (json!({"kind": "free_shipping", "usage_limit": 0}), "usage_limit"),
        (
            json!({"kind": "free_shipping", "product_ids": ["prod_missing"]}),
            "product_ids[0]",
        ),
        (
            json!({"kind": "free_shipping", "category_ids": ["cat_missing"]}),
            "category_ids[0]",
        ),
        (json!({"kind": "half_off"}), "kind"),
        (json!({"percentage_bps": 1000}), "kind"),
    ] {
        let response = app.post(DISCOUNTS, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        response.assert_field_error(field);
    }
    let list = app.get(DISCOUNTS, Some(&staff)).await;
    assert_eq!(
        ids_in(list.assert_status(200)),
        Vec::<String>::new(),
        "nothing was written"
    );
}

async fn a_code_takes_its_share_and_the_order_keeps_exactly_that(app: TestApp) {
    let staff = app.staff_token().await;
    let discount = create(
        &app,
        &staff,
        json!({"code": "SAVE10", "kind": "percentage", "percentage_bps": 1000}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 1005, 5).await;
    let cart = cart(&app, &variant, 2).await;

    let applied = apply(&app, &cart, "save10").await;
    let shown = applied.assert_status(200).clone();
    assert_eq!(
        shown["discounts"],
        json!([{"discount_id": id_of(&discount), "code": "SAVE10", "description": "10 % off", "amount": eur(201)}]),
        "codes match whatever their case; 10 % of 2010 is 201"
    );
    assert_eq!(shown["items"][0]["discount_total"], eur(201));
    assert_eq!(shown["discount_total"], eur(201));
    assert_eq!(shown["total"], eur(2010 - 201));
    apply(&app, &cart, "SAVE10").await.assert_status(200);

    let order = app.checkout(None, &cart, "tok_visa").await.assert_status(201).clone();
    for field in ["discounts", "discount_total", "total", "subtotal"] {
        assert_eq!(order[field], shown[field], "the order keeps the cart's {field}");
    }
    assert_eq!(order["items"][0]["discount_total"], eur(201));
    assert_eq!(order["payment"]["amount"], eur(1809));
    let detail = times_used(&app, &staff, &id_of(&discount)).await;
    assert_eq!(detail["times_used"], 1);
    assert_eq!(detail["order_ids"], json!([id_of(&order)]));

    // A used discount is deactivated rather than deleted: its order keeps naming it.
    app.delete(&format!("{DISCOUNTS}/{}", id_of(&discount)), Some(&staff))
        .await
        .assert_status(204);
    let kept = times_used(&app, &staff, &id_of(&discount)).await;
    assert_eq!(kept["active"], false);
}

async fn a_code_that_cannot_apply_is_refused_with_its_reason(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 50).await;
    let (other_product, _) = app.published_product(&staff, 1000, 50).await;
    let other_product_id = id_of(&other_product);
    for body in [
        json!({"code": "GONE", "kind": "free_shipping", "ends_at": "2020-01-01T00:00:00Z"}),
        json!({"code": "SOON", "kind": "free_shipping", "starts_at": "2099-01-01T00:00:00Z"}),
        json!({"code": "OFF", "kind": "free_shipping", "active": false}),
        json!({"code": "BIG", "kind": "free_shipping", "min_subtotal": 5000, "currency": "EUR"}),
        json!({"code": "OTHER", "kind": "percentage", "percentage_bps": 500, "product_ids": [other_product_id]}),
        json!({"code": "DOLLARS", "kind": "fixed_amount", "amount": 100, "currency": "USD"}),
        json!({"code": "SOLO", "kind": "percentage", "percentage_bps": 500}),
        json!({"code": "ALSO", "kind": "percentage", "percentage_bps": 500, "combinable": true}),
    ] {
        create(&app, &staff, body).await;
    }
    let cart = cart(&app, &variant, 2).await;
    for (code, reason) in [
        ("NOPE", "unknown"),
        ("GONE", "expired"),
        ("SOON", "not_started"),
        ("OFF", "inactive"),
        ("BIG", "min_subtotal"),
        ("OTHER", "not_applicable"),
        ("DOLLARS", "not_applicable"),
    ] {
        let refused = apply(&app, &cart, code).await;
        refused.assert_error_on("discount_invalid", "code");
        assert_eq!(refused.body["reason"], reason, "{code}: {}", refused.text);
    }
    apply(&app, &cart, "SOLO").await.assert_status(200);
    let refused = apply(&app, &cart, "ALSO").await;
    assert_eq!(refused.body["reason"], "not_combinable", "{}", refused.text);
    let after = app.get(&format!("/v1/carts/{cart}"), None).await;
    let codes: Vec<&Value> = after.body["discounts"]
        .as_array()
        .expect("discounts")
        .iter()
        .map(|discount| &discount["code"])
        .collect();
    assert_eq!(codes, vec![&json!("SOLO")], "refused codes changed nothing");

    let removed = app.delete(&format!("/v1/carts/{cart}/discount-codes/solo"), None).await;
    assert_eq!(removed.assert_status(200)["discounts"], json!([]));
    assert_eq!(removed.body["total"], eur(2000));
    app.delete(&format!("/v1/carts/{cart}/discount-codes/SOLO"), None)
        .await
        .assert_problem(404, "not_found");
}

async fn automatic_discounts_apply_by_themselves(app: TestApp) {
    let staff = app.staff_token().await;
    app.post(
        "/v1/admin/shipping-options",
        Some(&staff),
        json!({"name": "Parcel", "currency": "EUR", "rate": {"type": "flat", "amount": 600}}),
    )
    .await
    .assert_status(201);
    let free = create(
        &app,
        &staff,
        json!({"kind": "free_shipping", "min_subtotal": 5000, "currency": "EUR", "description": "Free shipping over €50"}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 2500, 10).await;
    let small = app.cart_with(None, &variant, 1).await;
    let path = format!("/v1/carts/{}", id_of(&small));
    let options = app.get(&format!("{path}/shipping-options"), None).await;
    let option = id_of(&options.assert_status(200)["data"][0]);
    let small = app
        .patch(&path, None, json!({"shipping_option_id": option}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(small["discounts"], json!([]), "below its minimum");
    assert_eq!(small["shipping_total"], eur(600));

    let items = format!("{path}/items/{}", id_of(&small["items"][0]));
    let big = app
        .patch(&items, None, json!({"quantity": 2}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        big["discounts"],
        json!([{"discount_id": id_of(&free), "code": null, "description": "Free shipping over €50", "amount": eur(600)}]),
        "the waived shipping is its amount"
    );
    assert_eq!(big["shipping_total"], eur(0));
    assert_eq!(big["discount_total"], eur(0), "line discounts only");
    assert_eq!(big["total"], eur(5000));
    let order = app
        .checkout(None, &id_of(&small), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["discounts"], big["discounts"]);
    assert_eq!(order["total"], eur(5000));
}

/// One use left and twenty buyers at once (spread over two servers on one database): one
/// order gets the discount, the others are refused with nothing charged and their stock
/// released, and the code is off their carts.
async fn the_last_use_of_a_code_goes_to_exactly_one_checkout(app: TestApp) {
    let peer = app.start_peer().await;
    let staff = app.staff_token().await;
    let discount = create(
        &app,
        &staff,
        json!({"code": "LAST", "kind": "fixed_amount", "amount": 300, "currency": "EUR", "usage_limit": 1}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 1000, 100).await;
    let mut carts = Vec::new();
    for _ in 0..20 {
        let cart = cart(&app, &variant, 1).await;
        apply(&app, &cart, "LAST").await.assert_status(200);
        carts.push(cart);
    }
    let servers = [&app, &peer];
    let responses = join_all(carts.iter().enumerate().map(|(index, cart)| {
        let server = servers[index % servers.len()];
        async move { server.checkout(None, cart, "tok_visa").await }
    }))
    .await;
    let paid: Vec<&Response> = responses.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        paid.len(),
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(paid[0].body["total"], eur(700));
    for refused in responses.iter().filter(|r| r.status != 201) {
        refused.assert_problem(409, "discount_unavailable");
        assert_eq!(refused.body["codes"], json!(["LAST"]));
    }
    assert_eq!(app.captures().await, 1, "one charge");
    assert_eq!(
        app.stock(&staff, &variant).await,
        (99, 0, 99),
        "the others' stock is back"
    );
    assert_eq!(times_used(&app, &staff, &id_of(&discount)).await["times_used"], 1);

    // A refused cart no longer holds the code and checks out at full price.
    let refused_cart = carts
        .iter()
        .zip(&responses)
        .find(|(_, response)| response.status == 409)
        .map(|(cart, _)| cart.clone())
        .expect("a refused cart");
    let order = app.checkout(None, &refused_cart, "tok_visa").await;
    assert_eq!(order.assert_status(201)["total"], eur(1000));
    assert_eq!(order.body["discounts"], json!([]));
}

async fn a_declined_payment_gives_the_use_back(app: TestApp) {
    let staff = app.staff_token().await;
    let discount = create(
        &app,
        &staff,
        json!({"code": "ONCE", "kind": "percentage", "percentage_bps": 2000, "usage_limit": 1}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let cart = cart(&app, &variant, 1).await;
    apply(&app, &cart, "ONCE").await.assert_status(200);
    app.checkout(None, &cart, "tok_chargeDeclined")
        .await
        .assert_problem(402, "payment_declined");
    assert_eq!(times_used(&app, &staff, &id_of(&discount)).await["times_used"], 0);
    let order = app.checkout(None, &cart, "tok_visa").await;
    assert_eq!(order.assert_status(201)["total"], eur(800), "the use was there to take");
}

async fn a_per_customer_limit_counts_a_guest_by_email(app: TestApp) {
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        json!({"code": "WELCOME", "kind": "percentage", "percentage_bps": 1500, "usage_limit_per_customer": 1}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let first = cart(&app, &variant, 1).await;
    apply(&app, &first, "WELCOME").await.assert_status(200);
    let body = json!({"email": "Ada@Example.com", "shipping_address": address(), "payment": {"token": "tok_visa"}});
    app.post(&format!("/v1/carts/{first}/checkout"), None, body)
        .await
        .assert_status(201);

    let second = cart(&app, &variant, 1).await;
    app.patch(
        &format!("/v1/carts/{second}"),
        None,
        json!({"email": "ada@example.com"}),
    )
    .await
    .assert_status(200);
    let refused = apply(&app, &second, "WELCOME").await;
    assert_eq!(refused.body["reason"], "used_up", "{}", refused.text);

    // Applied before the email was known, it is refused at checkout instead.
    let third = cart(&app, &variant, 1).await;
    apply(&app, &third, "WELCOME").await.assert_status(200);
    let body = json!({"email": "ADA@example.com", "shipping_address": address(), "payment": {"token": "tok_visa"}});
    let refused = app.post(&format!("/v1/carts/{third}/checkout"), None, body).await;
    refused.assert_problem(409, "discount_unavailable");
    assert_eq!(app.captures().await, 1);
}

/// The per-customer limit holds like the total one: one guest (by email) racing ten
/// checkouts over two servers gets a once-per-customer code once.
async fn a_once_per_customer_code_goes_to_one_of_a_guests_racing_checkouts(app: TestApp) {
    let peer = app.start_peer().await;
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        json!({"code": "FIRSTORDER", "kind": "percentage", "percentage_bps": 1000, "usage_limit_per_customer": 1}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 1000, 100).await;
    let mut carts = Vec::new();
    for _ in 0..10 {
        let cart = cart(&app, &variant, 1).await;
        apply(&app, &cart, "FIRSTORDER").await.assert_status(200);
        carts.push(cart);
    }
    let servers = [&app, &peer];
    let responses = join_all(carts.iter().enumerate().map(|(index, cart)| {
        let server = servers[index % servers.len()];
        let body =
            json!({"email": "grace@example.com", "shipping_address": address(), "payment": {"token": "tok_visa"}});
        async move { server.post(&format!("/v1/carts/{cart}/checkout"), None, body).await }
    }))
    .await;
    let paid = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(paid, 1, "{:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    for refused in responses.iter().filter(|r| r.status != 201) {
        refused.assert_problem(409, "discount_unavailable");
    }
    assert_eq!(app.captures().await, 1);
    assert_eq!(app.stock(&staff, &variant).await, (99, 0, 99));
}

async fn canceling_a_discounted_order_refunds_what_was_paid(app: TestApp) {
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        json!({"code": "QUARTER", "kind": "percentage", "percentage_bps": 2500}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 2000, 5).await;
    let cart = cart(&app, &variant, 1).await;
    apply(&app, &cart, "QUARTER").await.assert_status(200);
    let order = app.checkout(None, &cart, "tok_visa").await.assert_status(201).clone();
    assert_eq!(order["total"], eur(1500));
    let refund = app
        .post(
            &format!("/v1/admin/orders/{}/refund", id_of(&order)),
            Some(&staff),
            json!({"amount": 1501}),
        )
        .await;
    assert_eq!(refund.status, 422, "no more than was paid: {}", refund.text);
    let canceled = app
        .post(
            &format!("/v1/admin/orders/{}/cancel", id_of(&order)),
            Some(&staff),
            json!({}),
        )
        .await;
    let canceled = canceled.assert_status(200);
    assert_eq!(canceled["payment"]["refunded_amount"], eur(1500));
    assert_eq!(canceled["payment"]["status"], "refunded");
}

/// An automatic discount once per customer: a customer who used it no longer sees it, so
/// their next cart checks out at the price it shows.
async fn an_automatic_discount_used_up_by_a_customer_no_longer_shows_for_them(app: TestApp) {
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        json!({"kind": "percentage", "percentage_bps": 1000, "usage_limit_per_customer": 1, "description": "First order"}),
    )
    .await;
    let (token, _) = app.customer().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let first = app.cart_with(Some(&token), &variant, 1).await;
    assert_eq!(first["total"], eur(900));
    let body = json!({"shipping_address": address(), "payment": {"token": "tok_visa"}});
    let order = app
        .post(
            &format!("/v1/carts/{}/checkout", id_of(&first)),
            Some(&token),
            body.clone(),
        )
        .await;
    assert_eq!(order.assert_status(201)["total"], eur(900));

    let second = app.cart_with(Some(&token), &variant, 1).await;
    assert_eq!(second["discounts"], json!([]), "used up by this customer");
    assert_eq!(second["total"], eur(1000));
    let order = app
        .post(&format!("/v1/carts/{}/checkout", id_of(&second)), Some(&token), body)
        .await;
    assert_eq!(order.assert_status(201)["total"], eur(1000));
    let guest = app.cart_with(None, &variant, 1).await;
    assert_eq!(guest["total"], eur(900), "another buyer still gets it");
}

/// What a review found: a usage limit below the uses is refused; a code made automatic
/// counts once on carts that held it; an automatic discount that saves nothing takes no use;
/// a guest's email counts against a customer's once-per-customer use.
async fn edits_and_edge_cases_keep_discounts_consistent(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 50).await;

    let limited = create(
        &app,
        &staff,
        json!({"code": "THRICE", "kind": "percentage", "percentage_bps": 1000, "usage_limit": 3}),
    )
    .await;
    for _ in 0..2 {
        let used = cart(&app, &variant, 1).await;
        apply(&app, &used, "THRICE").await.assert_status(200);
        app.checkout(None, &used, "tok_visa").await.assert_status(201);
    }
    let path = format!("{DISCOUNTS}/{}", id_of(&limited));
    app.patch(&path, Some(&staff), json!({"usage_limit": 1}))
        .await
        .assert_field_error("usage_limit");
    app.patch(&path, Some(&staff), json!({"usage_limit": 2}))
        .await
        .assert_status(200);

    let coded = create(
        &app,
        &staff,
        json!({"code": "SOON-AUTO", "kind": "fixed_amount", "amount": 100, "currency": "EUR", "combinable": true}),
    )
    .await;
    let holding = cart(&app, &variant, 1).await;
    apply(&app, &holding, "SOON-AUTO").await.assert_status(200);
    app.patch(
        &format!("{DISCOUNTS}/{}", id_of(&coded)),
        Some(&staff),
        json!({"code": null}),
    )
    .await
    .assert_status(200);
    let shown = app.get(&format!("/v1/carts/{holding}"), None).await;
    assert_eq!(
        shown.assert_status(200)["discounts"].as_array().map(Vec::len),
        Some(1),
        "once: {}",
        shown.text
    );
    assert_eq!(shown.body["total"], eur(900));
    app.checkout(None, &holding, "tok_visa").await.assert_status(201);

    let free = create(&app, &staff, json!({"kind": "free_shipping", "usage_limit": 5})).await;
    let idle = cart(&app, &variant, 1).await;
    let shown = app.get(&format!("/v1/carts/{idle}"), None).await;
    assert!(
        !shown.body["discounts"]
            .as_array()
            .expect("discounts")
            .iter()
            .any(|d| d["discount_id"] == id_of(&free).as_str()),
        "no shipping to waive: {}",
        shown.text
    );
    app.checkout(None, &idle, "tok_visa").await.assert_status(201);
    assert_eq!(times_used(&app, &staff, &id_of(&free)).await["times_used"], 0);

    create(
        &app,
        &staff,
        json!({"code": "HELLO", "kind": "percentage", "percentage_bps": 500, "usage_limit_per_customer": 1}),
    )
    .await;
    let (token, customer) = app.customer().await;
    let email = customer["email"].as_str().expect("email").to_owned();
    let signed_in = app.cart_with(Some(&token), &variant, 1).await;
    let signed_in = id_of(&signed_in);
    app.post(
        &format!("/v1/carts/{signed_in}/discount-codes"),
        Some(&token),
        json!({"code": "HELLO"}),
    )
    .await
    .assert_status(200);
    let body = json!({"shipping_address": address(), "payment": {"token": "tok_visa"}});
    app.post(&format!("/v1/carts/{signed_in}/checkout"), Some(&token), body)
        .await
        .assert_status(201);
    let as_guest = cart(&app, &variant, 1).await;
    app.patch(
        &format!("/v1/carts/{as_guest}"),
        None,
        json!({"email": email.to_uppercase()}),
    )
    .await
    .assert_status(200);
    let refused = apply(&app, &as_guest, "HELLO").await;
    assert_eq!(
        refused.body["reason"], "used_up",
        "the same person by email: {}",
        refused.text
    );
}

crate::backend_tests!(
    staff_define_discounts_and_see_their_use,
    bad_discounts_are_refused_by_field_and_write_nothing,
    a_code_takes_its_share_and_the_order_keeps_exactly_that,
    a_code_that_cannot_apply_is_refused_with_its_reason,
    automatic_discounts_apply_by_themselves,
    the_last_use_of_a_code_goes_to_exactly_one_checkout,
    a_declined_payment_gives_the_use_back,
    a_per_customer_limit_counts_a_guest_by_email,
    a_once_per_customer_code_goes_to_one_of_a_guests_racing_checkouts,
    canceling_a_discounted_order_refunds_what_was_paid,
    an_automatic_discount_used_up_by_a_customer_no_longer_shows_for_them,
    edits_and_edge_cases_keep_discounts_consistent,
);
