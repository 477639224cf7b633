//! Carts: creation, lines and totals, quantity rules, versions, and who can see a cart.

use crate::support::*;
use serde_json::{Value, json};

async fn new_cart(app: &TestApp, token: Option<&str>) -> Value {
    app.post("/v1/carts", token, json!({})).await.assert_status(201).clone()
}

async fn add_item(app: &TestApp, token: Option<&str>, cart: &Value, variant_id: &str, quantity: i64) -> Response {
    app.post(
        &format!("/v1/carts/{}/items", id_of(cart)),
        token,
        json!({"variant_id": variant_id, "quantity": quantity}),
    )
    .await
}

fn item_path(cart: &Value) -> String {
    format!("/v1/carts/{}/items/{}", id_of(cart), id_of(&cart["items"][0]))
}

fn version(cart: &Value) -> i64 {
    cart["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("integer `version` in {cart}"))
}

async fn guest_cart_starts_empty_with_zero_totals(app: TestApp) {
    let response = app.post("/v1/carts", None, json!({})).await;
    let cart = response.assert_status(201);
    assert!(id_of(cart).starts_with("cart_"), "{cart}");
    assert!(cart["customer_id"].is_null(), "a guest cart has no customer: {cart}");
    assert_eq!(cart["currency"], "EUR");
    assert_eq!(cart["items"], json!([]));
    for field in ["subtotal", "discount_total", "shipping_total", "tax_total", "total"] {
        assert_money(&cart[field], 0);
    }
    assert!(cart["version"].is_i64(), "{cart}");
    assert_utc_timestamp(&cart["created_at"]);
    assert_utc_timestamp(&cart["updated_at"]);
}

async fn customer_cart_belongs_to_the_customer(app: TestApp) {
    let (token, customer) = app.customer().await;
    let response = app.post("/v1/carts", Some(&token), json!({"currency": "EUR"})).await;
    let cart = response.assert_status(201);
    assert_eq!(cart["customer_id"], customer["id"]);
    assert_eq!(cart["currency"], "EUR");
    let fetched = app.get(&format!("/v1/carts/{}", id_of(cart)), Some(&token)).await;
    assert_eq!(fetched.assert_status(200)["id"], cart["id"]);
}

async fn adding_the_same_variant_again_grows_its_line(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1250, 10).await;
    let cart = new_cart(&app, None).await;
    add_item(&app, None, &cart, &variant_id, 2).await.assert_status(200);
    let response = add_item(&app, None, &cart, &variant_id, 3).await;
    let cart = response.assert_status(200);

    let items = cart["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one line per variant: {cart}");
    let line = &items[0];
    assert!(id_of(line).starts_with("item_"), "{line}");
    assert_eq!(line["variant_id"], variant_id.as_str());
    assert_eq!(line["sku"], product["variants"][0]["sku"]);
    assert!(line["title"].is_string(), "{line}");
    assert_eq!(line["quantity"], 5);
    assert_money(&line["unit_price"], 1250);
    assert_money(&line["line_total"], 6250);
    assert_money(&cart["subtotal"], 6250);
    assert_money(&cart["total"], 6250);
}

async fn totals_sum_every_line(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, first) = app.published_product(&staff, 1999, 10).await;
    let (_, second) = app.published_product(&staff, 550, 10).await;
    let cart = new_cart(&app, None).await;
    add_item(&app, None, &cart, &first, 3).await.assert_status(200);
    let response = add_item(&app, None, &cart, &second, 2).await;
    let cart = response.assert_status(200);
    assert_eq!(cart["items"].as_array().expect("items").len(), 2);
    assert_money(&cart["subtotal"], 3 * 1999 + 2 * 550);
    assert_money(&cart["discount_total"], 0);
    assert_money(&cart["shipping_total"], 0);
    assert_money(&cart["tax_total"], 0);
    assert_money(&cart["total"], 7097);
}

async fn quantity_outside_1_to_999_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 5).await;
    let cart = new_cart(&app, None).await;
    for quantity in [0, 1000] {
        add_item(&app, None, &cart, &variant_id, quantity)
            .await
            .assert_field_error("quantity");
    }
    let cart = add_item(&app, None, &cart, &variant_id, 999)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(cart["items"][0]["quantity"], 999);
}

/// JSON Schema counts 2.0 as an integer, so the document's `type: integer` allows it;
/// 2.5 is not one.
async fn a_whole_number_written_with_a_fraction_is_a_quantity(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 5).await;
    let cart = new_cart(&app, None).await;
    let items = format!("/v1/carts/{}/items", id_of(&cart));
    let added = app
        .post(&items, None, json!({"variant_id": variant_id, "quantity": 2.0}))
        .await;
    assert_eq!(added.assert_status(200)["items"][0]["quantity"], 2);
    app.post(&items, None, json!({"variant_id": variant_id, "quantity": 2.5}))
        .await
        .assert_status(422);
}

async fn unknown_or_unpublished_variant_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let draft = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Unreleased", "variants": [{"sku": "UNRELEASED-1", "price": eur(100), "inventory": 5}]}),
        )
        .await
        .assert_status(201)
        .clone();
    let draft_variant = id_of(&draft["variants"][0]);
    let cart = new_cart(&app, None).await;
    add_item(&app, None, &cart, "var_doesnotexist", 1)
        .await
        .assert_field_error("variant_id");
    add_item(&app, None, &cart, &draft_variant, 1)
        .await
        .assert_field_error("variant_id");
}

async fn patching_an_item_sets_its_quantity_and_zero_removes_it(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 400, 10).await;
    let cart = app.cart_with(None, &variant_id, 2).await;
    let path = item_path(&cart);

    let patched = app.patch(&path, None, json!({"quantity": 7})).await;
    let body = patched.assert_status(200);
    assert_eq!(body["items"][0]["quantity"], 7);
    assert_money(&body["items"][0]["line_total"], 2800);
    assert_money(&body["total"], 2800);

    app.patch(&path, None, json!({"quantity": 1000}))
        .await
        .assert_field_error("quantity");

    let emptied = app.patch(&path, None, json!({"quantity": 0})).await;
    let body = emptied.assert_status(200);
    assert_eq!(body["items"], json!([]));
    assert_money(&body["total"], 0);
}

async fn deleting_an_item_removes_its_line(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, kept) = app.published_product(&staff, 300, 10).await;
    let (_, removed) = app.published_product(&staff, 700, 10).await;
    let cart = app.cart_with(None, &removed, 1).await;
    let cart = add_item(&app, None, &cart, &kept, 2).await.assert_status(200).clone();
    let line = cart["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|line| line["variant_id"] == removed.as_str())
        .expect("the line to remove")
        .clone();

    let response = app
        .delete(&format!("/v1/carts/{}/items/{}", id_of(&cart), id_of(&line)), None)
        .await;
    let body = response.assert_status(200);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["variant_id"], kept.as_str());
    assert_money(&body["total"], 600);
}

async fn every_change_raises_the_version(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let created = new_cart(&app, None).await;
    let added = add_item(&app, None, &created, &variant_id, 1)
        .await
        .assert_status(200)
        .clone();
    let path = item_path(&added);
    let patched = app
        .patch(&path, None, json!({"quantity": 3}))
        .await
        .assert_status(200)
        .clone();
    let deleted = app.delete(&path, None).await.assert_status(200).clone();
    let versions = [version(&created), version(&added), version(&patched), version(&deleted)];
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "versions increase: {versions:?}"
    );

    let fetched = app
        .get(&format!("/v1/carts/{}", id_of(&created)), None)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        version(&fetched),
        version(&deleted),
        "reading does not change the version"
    );
}

async fn customer_cart_is_hidden_from_everyone_else(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let (owner, _) = app.customer().await;
    let (stranger, _) = app.customer().await;
    let cart = app.cart_with(Some(&owner), &variant_id, 1).await;
    let path = format!("/v1/carts/{}", id_of(&cart));

    app.get(&path, Some(&owner)).await.assert_status(200);
    app.get(&path, Some(&stranger)).await.assert_problem(404, "not_found");
    app.get(&path, None).await.assert_problem(404, "not_found");
    add_item(&app, Some(&stranger), &cart, &variant_id, 1)
        .await
        .assert_problem(404, "not_found");
    add_item(&app, None, &cart, &variant_id, 1)
        .await
        .assert_problem(404, "not_found");
    app.delete(&item_path(&cart), Some(&stranger))
        .await
        .assert_problem(404, "not_found");

    let unchanged = app.get(&path, Some(&owner)).await.assert_status(200).clone();
    assert_eq!(unchanged["items"][0]["quantity"], 1);
}

async fn guest_cart_is_reachable_by_id_without_a_token(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    let cart = app.cart_with(None, &variant_id, 4).await;
    let fetched = app.get(&format!("/v1/carts/{}", id_of(&cart)), None).await;
    let body = fetched.assert_status(200);
    assert_eq!(body["id"], cart["id"]);
    assert_eq!(body["items"][0]["quantity"], 4);
}

async fn unknown_cart_is_404(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 10).await;
    app.get("/v1/carts/cart_doesnotexist", None)
        .await
        .assert_problem(404, "not_found");
    app.post(
        "/v1/carts/cart_doesnotexist/items",
        None,
        json!({"variant_id": variant_id, "quantity": 1}),
    )
    .await
    .assert_problem(404, "not_found");
}

async fn cart_may_hold_more_than_is_in_stock(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 100, 2).await;
    let cart = app.cart_with(None, &variant_id, 5).await;
    assert_eq!(cart["items"][0]["quantity"], 5);
    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (2, 0, 2),
        "a cart reserves nothing"
    );
}

crate::backend_tests!(
    guest_cart_starts_empty_with_zero_totals,
    customer_cart_belongs_to_the_customer,
    adding_the_same_variant_again_grows_its_line,
    totals_sum_every_line,
    quantity_outside_1_to_999_is_refused,
    a_whole_number_written_with_a_fraction_is_a_quantity,
    unknown_or_unpublished_variant_is_refused,
    patching_an_item_sets_its_quantity_and_zero_removes_it,
    deleting_an_item_removes_its_line,
    every_change_raises_the_version,
    customer_cart_is_hidden_from_everyone_else,
    guest_cart_is_reachable_by_id_without_a_token,
    unknown_cart_is_404,
    cart_may_hold_more_than_is_in_stock,
);
