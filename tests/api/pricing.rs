//! A cart priced like a real shop's: shipping options and tax rates, shown on the cart
//! before paying, charged exactly, and kept by the order (docs/pricing.md has the
//! arithmetic of the first two tests worked by hand).

use serde_json::{Value, json};

use crate::support::*;

fn us_address(region: &str) -> Value {
    json!({"name": "Grace Hopper", "line1": "1 Infinite Loop", "city": "Cupertino", "region": region,
        "postal_code": "95014", "country": "US"})
}

fn de_address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"})
}

/// Creates a staff resource and returns its id.
async fn create(app: &TestApp, staff: &str, path: &str, body: Value) -> String {
    id_of(app.post(path, Some(staff), body).await.assert_status(201))
}

/// The five totals of a cart or order, in minor units.
fn totals(body: &Value) -> [i64; 5] {
    ["subtotal", "discount_total", "shipping_total", "tax_total", "total"].map(|field| {
        body[field]["amount"]
            .as_i64()
            .unwrap_or_else(|| panic!("{field} in {body}"))
    })
}

/// The amount the test provider captured for the payment of `order`.
async fn captured(app: &TestApp, order: &Value) -> i64 {
    let payment_id = order["payment"]["id"].as_str().expect("payment id");
    backroom::store::test_provider::find_charge(&app.store, payment_id)
        .await
        .expect("read the ledger")
        .expect("a capture")
        .amount
}

/// `docs/pricing.md`, example 1: prices before tax, California's rate over the country's.
async fn a_purchase_in_a_shop_whose_prices_exclude_tax(app: TestApp) {
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "US sales tax", "country": "US", "rate_bps": 0}),
    )
    .await;
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "California sales tax", "country": "US", "region": "US-CA", "rate_bps": 725}),
    )
    .await;
    let ground = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "Ground", "currency": "EUR", "countries": ["US"], "rate": {"type": "flat", "amount": 599}}),
    )
    .await;
    let (_, mug) = app.published_product(&staff, 1299, 10).await;
    let (_, tea) = app.published_product(&staff, 450, 10).await;
    let cart = app.cart_with(None, &mug, 3).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    app.post(
        &format!("{cart_path}/items"),
        None,
        json!({"variant_id": tea, "quantity": 1}),
    )
    .await
    .assert_status(200);

    // Before an address: no tax, and a US-only option does not serve the cart yet.
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(options.assert_status(200), &json!({"data": []}));
    let cart = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(totals(&cart), [4347, 0, 0, 0, 4347]);
    assert_eq!(
        (cart["email"].clone(), cart["shipping_address"].clone()),
        (Value::Null, Value::Null)
    );

    let patch = json!({"email": "Grace@Example.com", "shipping_address": us_address("CA")});
    let addressed = app.patch(&cart_path, None, patch).await.assert_status(200).clone();
    assert_eq!(addressed["email"], "grace@example.com");
    assert_eq!(addressed["shipping_address"]["region"], "CA");
    assert_eq!(
        totals(&addressed),
        [4347, 0, 0, 316, 4663],
        "tax on the lines, no shipping chosen yet"
    );
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(
        options.assert_status(200),
        &json!({"data": [{"id": ground, "name": "Ground", "amount": eur(599)}]})
    );

    let shipped = app
        .patch(&cart_path, None, json!({"shipping_option_id": ground}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(totals(&shipped), [4347, 0, 599, 359, 5305]);
    assert_eq!(
        shipped["shipping_option"],
        json!({"id": ground, "name": "Ground", "amount": eur(599)})
    );
    assert_eq!(
        shipped["tax_lines"],
        json!([{"name": "California sales tax", "rate_bps": 725, "amount": eur(359)}])
    );
    let line_taxes: Vec<i64> = shipped["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| line["tax_total"]["amount"].as_i64().expect("line tax"))
        .collect();
    assert_eq!(line_taxes, [283, 33]);
    assert_eq!(shipped["discounts"], json!([]));

    // Checkout needs nothing more: the cart has the email, the address and the option.
    let order = app
        .post(
            &format!("{cart_path}/checkout"),
            None,
            json!({"payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(
        totals(&order),
        totals(&shipped),
        "the order is priced as the cart showed"
    );
    for field in ["shipping_option", "tax_lines", "discounts"] {
        assert_eq!(order[field], shipped[field], "{field}");
    }
    for (ordered, shown) in order["items"]
        .as_array()
        .expect("items")
        .iter()
        .zip(shipped["items"].as_array().expect("items"))
    {
        for field in [
            "sku",
            "quantity",
            "unit_price",
            "line_total",
            "discount_total",
            "tax_total",
        ] {
            assert_eq!(ordered[field], shown[field], "{field}");
        }
    }
    assert_eq!(order["email"], "grace@example.com");
    assert_eq!(order["shipping_address"]["city"], "Cupertino");
    assert_eq!(order["payment"]["amount"], eur(5305));
    assert_eq!(
        captured(&app, &order).await,
        5305,
        "the payment captured exactly the total"
    );

    // The order keeps what it was charged when staff change the rates afterwards.
    let rates = app
        .get("/v1/admin/tax-rates", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    for rate in rates["data"].as_array().expect("rates") {
        app.delete(&format!("/v1/admin/tax-rates/{}", id_of(rate)), Some(&staff))
            .await
            .assert_status(204);
    }
    let path = format!("/v1/admin/orders/{}", id_of(&order));
    let kept = app.get(&path, Some(&staff)).await.assert_status(200).clone();
    assert_eq!(totals(&kept), [4347, 0, 599, 359, 5305]);
    assert_eq!(kept["tax_lines"], order["tax_lines"]);
    assert_eq!(kept["items"], order["items"]);
}

/// `docs/pricing.md`, example 2, with one tax class: the prices already hold their tax.
async fn a_purchase_in_a_shop_whose_prices_include_tax(app: TestApp) {
    let staff = app.staff_token().await;
    app.patch("/v1/admin/shop", Some(&staff), json!({"prices_include_tax": true}))
        .await
        .assert_status(200);
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "MwSt 19 %", "country": "DE", "rate_bps": 1900}),
    )
    .await;
    let dhl = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "DHL", "currency": "EUR", "countries": ["DE", "AT"], "rate": {"type": "flat", "amount": 495}}),
    )
    .await;
    let (_, lamp) = app.published_product(&staff, 4999, 5).await;
    let (customer, _) = app.customer().await;
    let cart = app.cart_with(Some(&customer), &lamp, 1).await;
    let checkout =
        json!({"shipping_address": de_address(), "shipping_option_id": dhl, "payment": {"token": "tok_visa"}});
    let order = app
        .post(
            &format!("/v1/carts/{}/checkout", id_of(&cart)),
            Some(&customer),
            checkout,
        )
        .await
        .assert_status(201)
        .clone();
    // The lamp holds 49.99 - round(42.0084...) = 7.98 of tax, shipping 4.95 - 4.16 = 0.79;
    // the total is what the customer saw on the prices: 49.99 + 4.95.
    assert_eq!(totals(&order), [4999, 0, 495, 877, 5494]);
    assert_eq!(order["items"][0]["tax_total"], eur(798));
    assert_eq!(
        order["tax_lines"],
        json!([{"name": "MwSt 19 %", "rate_bps": 1900, "amount": eur(877)}])
    );
    assert_eq!(captured(&app, &order).await, 5494);
    assert!(
        order["email"]
            .as_str()
            .is_some_and(|email| email.starts_with("customer-")),
        "the customer's own email"
    );

    // The checkout's address and option stay on the cart it closed.
    let cart = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), Some(&customer))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(cart["shipping_option"]["id"], dhl.as_str());
    assert_eq!(cart["shipping_address"]["country"], "DE");
}

async fn checkout_needs_a_shipping_option_that_serves_the_cart(app: TestApp) {
    let staff = app.staff_token().await;
    let german = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "Inland", "currency": "EUR", "countries": ["DE"], "rate": {"type": "flat", "amount": 490}}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 2000, 3).await;
    let cart = app.cart_with(None, &variant, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    app.patch(
        &cart_path,
        None,
        json!({"email": "gb@example.com", "shipping_address": address()}),
    )
    .await
    .assert_status(200);
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(options.assert_status(200)["data"], json!([]), "nothing ships to GB");
    app.patch(&cart_path, None, json!({"shipping_option_id": german}))
        .await
        .assert_field_error("shipping_option_id");
    app.patch(&cart_path, None, json!({"shipping_option_id": "shp_nosuchoption"}))
        .await
        .assert_field_error("shipping_option_id");

    let checkout = format!("{cart_path}/checkout");
    app.post(&checkout, None, json!({"payment": {"token": "tok_visa"}}))
        .await
        .assert_field_error("shipping_option_id");
    app.post(
        &checkout,
        None,
        json!({"shipping_option_id": german, "payment": {"token": "tok_visa"}}),
    )
    .await
    .assert_field_error("shipping_option_id");
    assert_eq!(app.stock(&staff, &variant).await, (3, 0, 3), "nothing reserved");
    assert_eq!(app.captures().await, 0, "nothing charged");
    let cart = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(cart["shipping_option"], Value::Null);
    assert_eq!(
        cart["shipping_address"]["country"], "GB",
        "a refused checkout changed nothing"
    );

    // Sent with the checkout, a German address makes the option fit.
    let order = app
        .post(
            &checkout,
            None,
            json!({"shipping_address": de_address(), "shipping_option_id": german, "payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(totals(&order), [2000, 0, 490, 0, 2490]);
}

async fn a_shop_without_options_or_rates_prices_as_before(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1500, 3).await;
    let cart = app.cart_with(None, &variant, 2).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let addressed = app
        .patch(&cart_path, None, json!({"shipping_address": de_address()}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(totals(&addressed), [3000, 0, 0, 0, 3000]);
    assert_eq!(
        (addressed["tax_lines"].clone(), addressed["shipping_option"].clone()),
        (json!([]), Value::Null)
    );
    let order = app
        .post(
            &format!("{cart_path}/checkout"),
            None,
            json!({"email": "v1@example.com", "payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(totals(&order), [3000, 0, 0, 0, 3000]);
}

async fn shipping_follows_the_cart_as_it_changes(app: TestApp) {
    let staff = app.staff_token().await;
    let standard = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "Standard", "currency": "EUR", "rate": {"type": "flat", "amount": 500}, "free_over": 5000}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 2500, 10).await;
    let cart = app.cart_with(None, &variant, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    // An option for every country serves a cart with no address yet.
    let chosen = app
        .patch(&cart_path, None, json!({"shipping_option_id": standard}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(totals(&chosen), [2500, 0, 500, 0, 3000]);
    let line = id_of(&chosen["items"][0]);
    let free = app
        .patch(&format!("{cart_path}/items/{line}"), None, json!({"quantity": 2}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        totals(&free),
        [5000, 0, 0, 0, 5000],
        "free from 50.00 on, the threshold included"
    );
    assert_eq!(free["shipping_option"]["amount"], eur(0));

    // A deleted option no longer counts in open carts.
    app.delete(&format!("/v1/admin/shipping-options/{standard}"), Some(&staff))
        .await
        .assert_status(204);
    let after = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(after["shipping_option"], Value::Null);
    assert_eq!(totals(&after), [5000, 0, 0, 0, 5000]);

    // `null` clears what was set.
    let cleared = app
        .patch(
            &cart_path,
            None,
            json!({"email": "x@example.com", "shipping_address": de_address()}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(cleared["email"], "x@example.com");
    let cleared = app
        .patch(
            &cart_path,
            None,
            json!({"email": null, "shipping_address": null, "shipping_option_id": null}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        (
            cleared["email"].clone(),
            cleared["shipping_address"].clone(),
            cleared["shipping_option"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
}

async fn a_region_matches_however_the_address_writes_it(app: TestApp) {
    let staff = app.staff_token().await;
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "Federal", "country": "US", "rate_bps": 100}),
    )
    .await;
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "New York", "country": "US", "region": "NY", "rate_bps": 400}),
    )
    .await;
    let (_, variant) = app.published_product(&staff, 10_000, 5).await;
    let cart = app.cart_with(None, &variant, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    for (region, tax) in [("NY", 400), ("US-NY", 400), ("ny", 400), ("CA", 100)] {
        let priced = app
            .patch(&cart_path, None, json!({"shipping_address": us_address(region)}))
            .await
            .assert_status(200)
            .clone();
        assert_eq!(priced["tax_total"], eur(tax), "region {region}");
    }
}

async fn bad_cart_details_are_refused_by_field_and_change_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let cart = app.cart_with(None, &variant, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let mut bad_country = de_address();
    bad_country["country"] = json!("Germany");
    for (body, field) in [
        (json!({"email": "not an email"}), "email"),
        (json!({"shipping_address": bad_country}), "shipping_address.country"),
        (
            json!({"shipping_address": {"name": "No street"}}),
            "shipping_address.line1",
        ),
        (json!({"email": "ok@example.com", "colour": "red"}), "colour"),
    ] {
        let response = app.patch(&cart_path, None, body.clone()).await;
        assert_eq!(response.status, 422, "{body}: {}", response.text);
        assert!(
            response.error_fields().iter().any(|f| f == field),
            "{body}: expected `{field}` in {}",
            response.text
        );
    }
    let after = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(after["version"], cart["version"], "nothing was written");
    assert_eq!(after["email"], Value::Null);
    // Another customer's cart is not theirs to address.
    let (owner, _) = app.customer().await;
    let owned = app.cart_with(Some(&owner), &variant, 1).await;
    let (stranger, _) = app.customer().await;
    app.patch(
        &format!("/v1/carts/{}", id_of(&owned)),
        Some(&stranger),
        json!({"email": "me@example.com"}),
    )
    .await
    .assert_problem(404, "not_found");
}

/// `docs/pricing.md`, example 2 whole: two tax classes, each line at its class's rate.
async fn each_line_is_taxed_at_its_products_class(app: TestApp) {
    let staff = app.staff_token().await;
    app.patch("/v1/admin/shop", Some(&staff), json!({"prices_include_tax": true}))
        .await
        .assert_status(200);
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "MwSt 19 %", "country": "DE", "rate_bps": 1900}),
    )
    .await;
    create(
        &app,
        &staff,
        "/v1/admin/tax-rates",
        json!({"name": "MwSt 7 %", "country": "DE", "tax_class": "reduced", "rate_bps": 700}),
    )
    .await;
    let dhl = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "DHL", "currency": "EUR", "countries": ["DE"], "rate": {"type": "flat", "amount": 495}}),
    )
    .await;
    let (_, lamp) = app.published_product(&staff, 4999, 5).await;
    let book = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "A Book", "status": "published", "tax_class": "reduced",
                "variants": [{"sku": unique_sku(), "price": eur(2000), "inventory": 5}]}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(book["tax_class"], "reduced");
    let cart = app.cart_with(None, &lamp, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let book_variant = id_of(&book["variants"][0]);
    app.post(
        &format!("{cart_path}/items"),
        None,
        json!({"variant_id": book_variant, "quantity": 1}),
    )
    .await
    .assert_status(200);
    let priced = app
        .patch(
            &cart_path,
            None,
            json!({"shipping_address": de_address(), "shipping_option_id": dhl}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(totals(&priced), [6999, 0, 495, 1008, 7494]);
    assert_eq!(
        priced["tax_lines"],
        json!([{"name": "MwSt 19 %", "rate_bps": 1900, "amount": eur(877)}, {"name": "MwSt 7 %", "rate_bps": 700, "amount": eur(131)}])
    );
    let order = app
        .post(
            &format!("{cart_path}/checkout"),
            None,
            json!({"email": "de@example.com", "payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(totals(&order), [6999, 0, 495, 1008, 7494]);
    assert_eq!(order["tax_lines"], priced["tax_lines"]);
}

async fn shipping_by_weight_follows_what_the_cart_weighs(app: TestApp) {
    let staff = app.staff_token().await;
    let parcel = create(
        &app,
        &staff,
        "/v1/admin/shipping-options",
        json!({"name": "Parcel", "currency": "EUR", "rate": {"type": "weight",
            "tiers": [{"up_to_grams": 1000, "amount": 400}, {"up_to_grams": 5000, "amount": 900}]}}),
    )
    .await;
    let product = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Cast Iron Pan", "status": "published",
                "variants": [{"sku": unique_sku(), "price": eur(3000), "inventory": 20, "weight_grams": 600}]}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(product["variants"][0]["weight_grams"], 600);
    let variant = id_of(&product["variants"][0]);
    let cart = app.cart_with(None, &variant, 1).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let line = id_of(&cart["items"][0]);
    let one = app
        .patch(&cart_path, None, json!({"shipping_option_id": parcel}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(one["shipping_total"], eur(400), "600 g");
    let two = app
        .patch(&format!("{cart_path}/items/{line}"), None, json!({"quantity": 2}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(two["shipping_total"], eur(900), "1,200 g");
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(options.assert_status(200)["data"][0]["amount"], eur(900));

    // Heavier than every tier: the option no longer serves the cart.
    let heavy = app
        .patch(&format!("{cart_path}/items/{line}"), None, json!({"quantity": 9}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        (heavy["shipping_option"].clone(), heavy["shipping_total"].clone()),
        (Value::Null, eur(0))
    );
    let options = app.get(&format!("{cart_path}/shipping-options"), None).await;
    assert_eq!(options.assert_status(200)["data"], json!([]));
    app.post(&format!("{cart_path}/checkout"), None, checkout_body("tok_visa"))
        .await
        .assert_field_error("shipping_option_id");

    // Staff weigh the variant again; bad weights and classes are refused by field.
    let path = format!("/v1/admin/variants/{variant}");
    app.patch(&path, Some(&staff), json!({"weight_grams": 100}))
        .await
        .assert_status(200);
    let light = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(
        light["shipping_option"]["amount"],
        eur(400),
        "900 g: the option fits again"
    );
    app.patch(&path, Some(&staff), json!({"weight_grams": -1}))
        .await
        .assert_field_error("weight_grams");
    let bad = json!({"title": "Bad", "tax_class": "Reduced Rate", "variants": [{"sku": unique_sku(), "price": eur(1), "weight_grams": -5}]});
    let refused = app.post("/v1/admin/products", Some(&staff), bad).await;
    refused.assert_field_error("tax_class");
    refused.assert_field_error("variants[0].weight_grams");
    let product_path = format!("/v1/admin/products/{}", id_of(&product));
    app.patch(&product_path, Some(&staff), json!({"tax_class": "UPPER"}))
        .await
        .assert_field_error("tax_class");
}

/// A price that changed since the customer last saw the cart is not charged silently:
/// checkout refuses once, naming the line with both prices, and the next checkout pays
/// the new price, which the cart now shows.
async fn a_price_changed_since_the_cart_was_seen_is_refused_once(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 5).await;
    let cart = app.cart_with(None, &variant, 2).await;
    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let sku = cart["items"][0]["sku"].clone();
    app.patch(
        &format!("/v1/admin/variants/{variant}"),
        Some(&staff),
        json!({"price": eur(1250)}),
    )
    .await
    .assert_status(200);
    let shown = app.get(&cart_path, None).await.assert_status(200).clone();
    assert_eq!(shown["total"], eur(2500), "the cart shows the current price");

    let refused = app.checkout(None, &id_of(&cart), "tok_visa").await;
    refused.assert_problem(409, "price_changed");
    assert_eq!(
        refused.body["lines"],
        json!([{"line_id": id_of(&cart["items"][0]), "sku": sku, "title": cart["items"][0]["title"],
            "seen_price": eur(1000), "price": eur(1250)}])
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("check out again"))
    );
    assert_eq!(app.captures().await, 0, "nothing charged");
    assert_eq!(app.stock(&staff, &variant).await, (5, 0, 5), "nothing reserved");

    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["total"], eur(2500), "the new price, now seen");

    // A cart changed after the new price (its answer showed it) checks out at once.
    app.patch(
        &format!("/v1/admin/variants/{variant}"),
        Some(&staff),
        json!({"price": eur(900)}),
    )
    .await
    .assert_status(200);
    let cart = app.cart_with(None, &variant, 1).await;
    app.patch(
        &format!("/v1/admin/variants/{variant}"),
        Some(&staff),
        json!({"price": eur(950)}),
    )
    .await
    .assert_status(200);
    let line = id_of(&cart["items"][0]);
    app.patch(
        &format!("/v1/carts/{}/items/{line}", id_of(&cart)),
        None,
        json!({"quantity": 2}),
    )
    .await
    .assert_status(200);
    let order = app
        .checkout(None, &id_of(&cart), "tok_visa")
        .await
        .assert_status(201)
        .clone();
    assert_eq!(order["total"], eur(1900));
}

/// Edits of one cart's details racing each other each keep what the other wrote: every
/// edit reads the cart again once it holds it.
async fn concurrent_cart_edits_keep_each_others_fields(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant) = app.published_product(&staff, 1000, 50).await;
    for round in 0..10 {
        let cart = app.cart_with(None, &variant, 1).await;
        let cart_path = format!("/v1/carts/{}", id_of(&cart));
        let email = format!("race-{round}@example.com");
        let (by_email, by_address) = tokio::join!(
            app.patch(&cart_path, None, json!({"email": email})),
            app.patch(&cart_path, None, json!({"shipping_address": de_address()})),
        );
        by_email.assert_status(200);
        by_address.assert_status(200);
        let cart = app.get(&cart_path, None).await.assert_status(200).clone();
        assert_eq!(
            cart["email"],
            email.as_str(),
            "round {round}: the email survived the address edit"
        );
        assert_eq!(
            cart["shipping_address"]["country"], "DE",
            "round {round}: the address survived the email edit"
        );
    }
}

crate::backend_tests!(
    concurrent_cart_edits_keep_each_others_fields,
    a_price_changed_since_the_cart_was_seen_is_refused_once,
    each_line_is_taxed_at_its_products_class,
    shipping_by_weight_follows_what_the_cart_weighs,
    a_purchase_in_a_shop_whose_prices_exclude_tax,
    a_purchase_in_a_shop_whose_prices_include_tax,
    checkout_needs_a_shipping_option_that_serves_the_cart,
    a_shop_without_options_or_rates_prices_as_before,
    shipping_follows_the_cart_as_it_changes,
    a_region_matches_however_the_address_writes_it,
    bad_cart_details_are_refused_by_field_and_change_nothing,
);
