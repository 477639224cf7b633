//! A shop that sells in several currencies (contract: Currencies): a price per currency on
//! each variant, catalog reads in the currency asked for, and carts that price, refuse and
//! move between currencies.

use serde_json::{Value, json};

use crate::support::*;

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// The shop sells in EUR (its default), USD and GBP.
async fn sell_in_three_currencies(app: &TestApp, admin: &str) {
    app.patch(
        "/v1/admin/shop",
        Some(admin),
        json!({"currencies": ["EUR", "USD", "GBP"]}),
    )
    .await
    .assert_status(200);
}

/// A published product whose one variant costs `eur` in EUR and `usd` in USD (not sold in
/// GBP); returns `(product, variant_id)`.
async fn product_in_eur_and_usd(app: &TestApp, staff: &str, eur_amount: i64, usd_amount: i64) -> (Value, String) {
    let product = app
        .post(
            "/v1/admin/products",
            Some(staff),
            json!({"title": format!("Lamp {}", unique_sku()), "status": "published", "variants": [{
                "sku": unique_sku(), "price": eur(eur_amount), "prices": [usd(usd_amount)], "inventory": 10}]}),
        )
        .await
        .assert_status(201)
        .clone();
    let variant_id = id_of(&product["variants"][0]);
    (product, variant_id)
}

async fn variants_carry_a_price_per_currency_and_reads_pick_one(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let (created, variant_id) = product_in_eur_and_usd(&app, &staff, 1000, 1200).await;
    let variant = &created["variants"][0];
    assert_eq!(variant["price"], eur(1000), "staff see its own price");
    assert_eq!(variant["prices"], json!([eur(1000), usd(1200)]), "its own first");

    let path = format!("/v1/products/{}", id_of(&created));
    let in_usd = app.get(&format!("{path}?currency=USD"), None).await;
    assert_eq!(in_usd.assert_status(200)["variants"][0]["price"], usd(1200));
    assert_eq!(in_usd.body["variants"][0]["prices"], variant["prices"]);
    let in_gbp = app.get(&format!("{path}?currency=GBP"), None).await;
    assert_eq!(
        in_gbp.assert_status(200)["variants"][0]["price"],
        Value::Null,
        "not sold in GBP"
    );
    let listed = app.get("/v1/products?currency=USD", None).await;
    let found = listed.assert_status(200)["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|product| product["variants"][0]["id"] == variant_id.as_str())
        .expect("the product is listed")
        .clone();
    assert_eq!(found["variants"][0]["price"], usd(1200));
    let staff_read = app
        .get(
            &format!("/v1/admin/products/{}?currency=USD", id_of(&created)),
            Some(&staff),
        )
        .await;
    assert_eq!(staff_read.assert_status(200)["variants"][0]["price"], usd(1200));

    // A variant priced in dollars only: staff see its price, the catalog (in euros unless
    // asked) shows it is not sold in euros.
    let dollars_only = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Import", "status": "published", "variants": [{"sku": unique_sku(), "price": usd(700)}]}),
        )
        .await;
    assert_eq!(dollars_only.assert_status(201)["variants"][0]["price"], usd(700));
    let public = app
        .get(&format!("/v1/products/{}", id_of(&dollars_only.body)), None)
        .await;
    assert_eq!(public.assert_status(200)["variants"][0]["price"], Value::Null);

    for query in ["currency=JPY", "currency=usd", "currency="] {
        app.get(&format!("{path}?{query}"), None)
            .await
            .assert_field_error("currency");
        app.get(&format!("/v1/products?{query}"), None)
            .await
            .assert_field_error("currency");
    }
}

async fn a_cart_prices_its_lines_in_its_currency_and_refuses_what_is_not_sold_in_it(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let (_, variant_id) = product_in_eur_and_usd(&app, &staff, 1000, 1200).await;
    let (_, euro_only) = app.published_product(&staff, 700, 5).await;

    let cart = app
        .post("/v1/carts", None, json!({"currency": "USD"}))
        .await
        .assert_status(201)
        .clone();
    let items = format!("/v1/carts/{}/items", id_of(&cart));
    let cart = app
        .post(&items, None, json!({"variant_id": variant_id, "quantity": 2}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(cart["items"][0]["unit_price"], usd(1200));
    assert_eq!(cart["total"], usd(2400));

    let refused = app
        .post(&items, None, json!({"variant_id": euro_only, "quantity": 1}))
        .await;
    refused.assert_error_on("not_sold_in_currency", "variant_id");
    let after = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(after["items"].as_array().map(Vec::len), Some(1), "nothing was added");

    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["total"], usd(2400));
    assert_eq!(order["items"][0]["unit_price"], usd(1200));
    assert_eq!(app.captures().await, 1);
}

async fn bad_prices_are_refused_by_field_and_write_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let variant = |price: Value, prices: Value| json!({"title": "Refused", "variants": [{"sku": unique_sku(), "price": price, "prices": prices}]});
    for (body, field) in [
        (
            variant(eur(1000), json!([usd(1200), usd(1300)])),
            "variants[0].prices[1].currency",
        ),
        (variant(eur(1000), json!([eur(999)])), "variants[0].prices[0].amount"),
        (
            variant(eur(1000), json!([{"amount": 100, "currency": "JPY"}])),
            "variants[0].prices[0].currency",
        ),
        (
            variant(eur(1000), json!([{"amount": 100, "currency": "usd"}])),
            "variants[0].prices[0].currency",
        ),
        (variant(eur(1000), json!([usd(-1)])), "variants[0].prices[0].amount"),
        (
            variant(eur(1000), json!([usd(100_000_000_001)])),
            "variants[0].prices[0].amount",
        ),
        (
            variant(json!({"amount": 100, "currency": "CHF"}), json!([])),
            "variants[0].price.currency",
        ),
        (variant(eur(1000), json!([{"amount": 1}])), "variants[0].prices[0]"),
    ] {
        let response = app.post("/v1/admin/products", Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        response.assert_field_error_starting(field);
    }
    let products = app.get("/v1/admin/products", Some(&staff)).await;
    assert_eq!(
        ids_in(products.assert_status(200)),
        Vec::<String>::new(),
        "nothing was written"
    );
}

async fn a_variant_patch_replaces_its_other_prices(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let (_, variant_id) = product_in_eur_and_usd(&app, &staff, 1000, 1200).await;
    let path = format!("/v1/admin/variants/{variant_id}");

    let changed = app
        .patch(
            &path,
            Some(&staff),
            json!({"prices": [usd(1300), {"amount": 900, "currency": "GBP"}]}),
        )
        .await;
    assert_eq!(
        changed.assert_status(200)["prices"],
        json!([eur(1000), {"amount": 900, "currency": "GBP"}, usd(1300)])
    );
    let only_title = app.patch(&path, Some(&staff), json!({"title": "Brass"})).await;
    assert_eq!(
        only_title.assert_status(200)["prices"],
        changed.body["prices"],
        "prices left out stay"
    );
    let own_changed = app.patch(&path, Some(&staff), json!({"prices": [eur(1100)]})).await;
    assert_eq!(own_changed.assert_status(200)["prices"], json!([eur(1100)]));
    assert_eq!(own_changed.body["price"], eur(1100), "its own price changes with it");

    for (body, field) in [
        (json!({"price": eur(1200), "prices": [eur(1300)]}), "prices[0].amount"),
        (json!({"prices": [usd(1), usd(2)]}), "prices[1].currency"),
        (
            json!({"prices": [{"amount": 5, "currency": "JPY"}]}),
            "prices[0].currency",
        ),
        (json!({"price": usd(1000)}), "price.currency"),
    ] {
        let response = app.patch(&path, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        response.assert_field_error(field);
    }
    let unchanged = app.patch(&path, Some(&staff), json!({})).await;
    assert_eq!(
        unchanged.assert_status(200)["prices"],
        json!([eur(1100)]),
        "nothing refused was written"
    );
}

async fn a_price_taken_away_stops_the_checkout_of_carts_in_that_currency(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let (_, variant_id) = product_in_eur_and_usd(&app, &staff, 1000, 1200).await;
    let cart = app
        .post("/v1/carts", None, json!({"currency": "USD"}))
        .await
        .assert_status(201)
        .clone();
    app.post(
        &format!("/v1/carts/{}/items", id_of(&cart)),
        None,
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_status(200);
    app.patch(
        &format!("/v1/admin/variants/{variant_id}"),
        Some(&staff),
        json!({"prices": []}),
    )
    .await
    .assert_status(200);

    app.checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_error_on("not_sold_in_currency", "items[0]");
    assert_eq!(app.captures().await, 0, "nothing charged");
    // The cart stays editable meanwhile.
    app.patch(
        &format!("/v1/carts/{}", id_of(&cart)),
        None,
        json!({"email": "buyer@example.com"}),
    )
    .await
    .assert_status(200);
    assert_eq!(app.stock(&staff, &variant_id).await, (10, 0, 10), "nothing reserved");
    // The cart stays open: once the price is back, it checks out (refused once, as any
    // price it did not show).
    app.patch(
        &format!("/v1/admin/variants/{variant_id}"),
        Some(&staff),
        json!({"prices": [usd(1250)]}),
    )
    .await
    .assert_status(200);
    app.checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_problem(409, "price_changed");
    let order = app.checkout(None, &id_of(&cart), "tok_visa").await;
    assert_eq!(order.assert_status(201)["total"], usd(1250));
}

async fn a_cart_moves_to_another_currency_with_its_lines(app: TestApp) {
    let staff = app.staff_token().await;
    sell_in_three_currencies(&app, &staff).await;
    let (_, variant_id) = product_in_eur_and_usd(&app, &staff, 1000, 1200).await;
    for (currency, amount) in [("EUR", 500), ("USD", 700)] {
        app.post(
            "/v1/admin/shipping-options",
            Some(&staff),
            json!({"name": format!("Standard {currency}"), "currency": currency, "rate": {"type": "flat", "amount": amount}}),
        )
        .await
        .assert_status(201);
    }
    let cart = app.cart_with(None, &variant_id, 2).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    let option_id = id_of(&options.assert_status(200)["data"][0]);
    app.patch(&cart_path, None, json!({"shipping_option_id": option_id}))
        .await
        .assert_status(200);

    let moved = app
        .patch(&cart_path, None, json!({"currency": "USD"}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(moved["currency"], "USD");
    assert_eq!(moved["items"][0]["unit_price"], usd(1200));
    assert_eq!(
        moved["shipping_option"],
        Value::Null,
        "a EUR option cannot ship a USD cart"
    );
    assert_eq!(moved["total"], usd(2400));

    app.patch(&cart_path, None, json!({"currency": "GBP"}))
        .await
        .assert_error_on("not_sold_in_currency", "items[0]");
    app.patch(&cart_path, None, json!({"currency": "JPY"}))
        .await
        .assert_field_error("currency");
    let after = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(after["currency"], "USD", "a refused move changed nothing");
    assert_eq!(after["version"], moved["version"]);

    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(
        options.assert_status(200)["data"][0]["amount"],
        usd(700),
        "only the USD option fits"
    );
    let option_id = id_of(&options.body["data"][0]);
    app.patch(&cart_path, None, json!({"shipping_option_id": option_id}))
        .await
        .assert_status(200);
    // The prices the answers showed are the ones seen: checkout pays them at once.
    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["total"], usd(3100));
}

crate::backend_tests!(
    variants_carry_a_price_per_currency_and_reads_pick_one,
    a_cart_prices_its_lines_in_its_currency_and_refuses_what_is_not_sold_in_it,
    bad_prices_are_refused_by_field_and_write_nothing,
    a_variant_patch_replaces_its_other_prices,
    a_price_taken_away_stops_the_checkout_of_carts_in_that_currency,
    a_cart_moves_to_another_currency_with_its_lines,
);
