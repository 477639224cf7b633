//! Staff catalog management: products, slugs, SKUs, variants, categories, inventory, and who may use /v1/admin.

use crate::support::*;
use serde_json::{Value, json};

fn product_body(title: &str, sku: &str) -> Value {
    json!({"title": title, "variants": [{"sku": sku, "price": eur(1500), "inventory": 4}]})
}

async fn new_product_is_a_draft_with_prefixed_ids(app: TestApp) {
    let staff = app.staff_token().await;
    let response = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({
                "title": "Linen Shirt",
                "description": "Washed linen",
                "variants": [
                    {"sku": "SHIRT-M", "title": "M", "price": eur(5900), "inventory": 3, "options": {"size": "M"}},
                    {"sku": "SHIRT-L", "title": "L", "price": eur(6100)}
                ]
            }),
        )
        .await;
    let product = response.assert_status(201);
    assert!(id_of(product).starts_with("prod_"), "{product}");
    assert_eq!(product["status"], "draft");
    assert_eq!(product["slug"], "linen-shirt");
    assert_eq!(product["description"], "Washed linen");
    assert_eq!(product["category_ids"], json!([]));
    assert!(product["images"].is_array(), "{product}");
    assert_utc_timestamp(&product["created_at"]);
    assert_utc_timestamp(&product["updated_at"]);
    let variants = product["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    let medium = variants
        .iter()
        .find(|variant| variant["sku"] == "SHIRT-M")
        .expect("SHIRT-M");
    assert!(id_of(medium).starts_with("var_"), "{medium}");
    assert_money(&medium["price"], 5900);
    assert_eq!(medium["available"], 3);
    assert_eq!(medium["options"]["size"], "M");
    let large = variants
        .iter()
        .find(|variant| variant["sku"] == "SHIRT-L")
        .expect("SHIRT-L");
    assert_eq!(large["available"], 0, "inventory defaults to 0");
}

async fn slug_is_made_from_the_title_and_numbered_on_collision(app: TestApp) {
    let staff = app.staff_token().await;
    let mut slugs = Vec::new();
    for sku in ["MUG-1", "MUG-2", "MUG-3"] {
        let product = app
            .post("/v1/admin/products", Some(&staff), product_body("Blue Mug!", sku))
            .await
            .assert_status(201)
            .clone();
        slugs.push(product["slug"].as_str().expect("slug").to_owned());
    }
    assert_eq!(slugs, ["blue-mug", "blue-mug-2", "blue-mug-3"]);
}

async fn explicit_slug_that_is_taken_is_a_conflict(app: TestApp) {
    let staff = app.staff_token().await;
    let mut first = product_body("Green Mug", "GREEN-1");
    first["slug"] = json!("mug");
    app.post("/v1/admin/products", Some(&staff), first)
        .await
        .assert_status(201);
    let mut second = product_body("Other Mug", "GREEN-2");
    second["slug"] = json!("mug");
    app.post("/v1/admin/products", Some(&staff), second)
        .await
        .assert_problem(409, "conflict");
}

async fn slug_with_spaces_or_capitals_is_refused(app: TestApp) {
    let staff = app.staff_token().await;
    let mut body = product_body("Bad", "BAD-1");
    body["slug"] = json!("Bad Slug");
    app.post("/v1/admin/products", Some(&staff), body)
        .await
        .assert_field_error("slug");
}

async fn duplicate_sku_is_a_conflict(app: TestApp) {
    let staff = app.staff_token().await;
    let product = app
        .post("/v1/admin/products", Some(&staff), product_body("Cup", "CUP-1"))
        .await
        .assert_status(201)
        .clone();
    app.post("/v1/admin/products", Some(&staff), product_body("Another Cup", "CUP-1"))
        .await
        .assert_problem(409, "conflict");
    app.post(
        &format!("/v1/admin/products/{}/variants", id_of(&product)),
        Some(&staff),
        json!({"sku": "CUP-1", "price": eur(100)}),
    )
    .await
    .assert_problem(409, "conflict");
}

async fn patch_publishes_renames_and_archives_a_product(app: TestApp) {
    let staff = app.staff_token().await;
    let product = app
        .post("/v1/admin/products", Some(&staff), product_body("Desk Fan", "FAN-1"))
        .await
        .assert_status(201)
        .clone();
    let path = format!("/v1/admin/products/{}", id_of(&product));
    let public = format!("/v1/products/{}", id_of(&product));
    app.get(&public, None).await.assert_problem(404, "not_found");

    let published = app.patch(&path, Some(&staff), json!({"status": "published"})).await;
    assert_eq!(published.assert_status(200)["status"], "published");
    app.get(&public, None).await.assert_status(200);

    let renamed = app.patch(&path, Some(&staff), json!({"title": "Quiet Desk Fan"})).await;
    assert_eq!(renamed.assert_status(200)["title"], "Quiet Desk Fan");
    assert_eq!(
        app.get(&public, None).await.assert_status(200)["title"],
        "Quiet Desk Fan"
    );

    app.patch(&path, Some(&staff), json!({"status": "archived"}))
        .await
        .assert_status(200);
    app.get(&public, None).await.assert_problem(404, "not_found");

    app.patch(
        "/v1/admin/products/prod_doesnotexist",
        Some(&staff),
        json!({"title": "Ghost"}),
    )
    .await
    .assert_problem(404, "not_found");
}

async fn added_variant_has_its_own_sku_price_and_stock(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1000, 2).await;
    let response = app
        .post(
            &format!("/v1/admin/products/{}/variants", id_of(&product)),
            Some(&staff),
            json!({"sku": "EXTRA-1", "title": "Large", "price": eur(1800), "inventory": 6}),
        )
        .await;
    let variant = response.assert_status(201).clone();
    assert!(id_of(&variant).starts_with("var_"), "{variant}");
    assert_eq!(variant["sku"], "EXTRA-1");
    assert_eq!(variant["title"], "Large");
    assert_money(&variant["price"], 1800);
    assert_eq!(variant["available"], 6);

    let public = app
        .get(&format!("/v1/products/{}", id_of(&product)), None)
        .await
        .assert_status(200)
        .clone();
    let variants = public["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    assert!(variants.iter().any(|listed| listed["id"] == variant["id"]), "{public}");
    assert_eq!(app.stock(&staff, &id_of(&variant)).await, (6, 0, 6));
}

async fn a_variants_price_change_shows_in_open_carts_but_not_in_orders(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, variant_id) = app.paid_order(&staff, None, 1000, 1, 10).await;
    let cart = app.cart_with(None, &variant_id, 2).await;

    let response = app
        .patch(
            &format!("/v1/admin/variants/{variant_id}"),
            Some(&staff),
            json!({"price": eur(1250), "title": "Blue", "sku": "RENAMED-1"}),
        )
        .await;
    let variant = response.assert_status(200).clone();
    assert_money(&variant["price"], 1250);
    assert_eq!(
        (variant["title"].as_str(), variant["sku"].as_str()),
        (Some("Blue"), Some("RENAMED-1"))
    );
    assert_eq!(variant["available"], 9, "stock is not touched");

    let cart = app
        .get(&format!("/v1/carts/{}", id_of(&cart)), None)
        .await
        .assert_status(200)
        .clone();
    assert_money(&cart["total"], 2500);
    let token = order["token"].as_str().expect("guest token");
    let order = app
        .get(&format!("/v1/orders/{}?token={token}", id_of(&order)), None)
        .await
        .assert_status(200)
        .clone();
    assert_money(&order["total"], 1000);
}

async fn a_variant_patch_is_validated(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1000, 1).await;
    let (_, other_id) = app.published_product(&staff, 1000, 1).await;
    let path = format!("/v1/admin/variants/{variant_id}");
    let usd = json!({"price": {"amount": 1000, "currency": "USD"}});
    app.patch(&path, Some(&staff), usd)
        .await
        .assert_field_error("price.currency");
    let negative = json!({"price": eur(-1)});
    app.patch(&path, Some(&staff), negative)
        .await
        .assert_field_error("price.amount");
    app.patch(&path, Some(&staff), json!({"sku": "has space"}))
        .await
        .assert_field_error("sku");
    app.patch(&path, Some(&staff), json!({"stock": 5}))
        .await
        .assert_field_error("stock");
    let taken = app
        .patch(
            &format!("/v1/admin/variants/{other_id}"),
            Some(&staff),
            json!({"sku": "TAKEN-SKU"}),
        )
        .await;
    taken.assert_status(200);
    app.patch(&path, Some(&staff), json!({"sku": "TAKEN-SKU"}))
        .await
        .assert_problem(409, "conflict");
    app.patch("/v1/admin/variants/var_missing", Some(&staff), json!({"title": "x"}))
        .await
        .assert_problem(404, "not_found");
    // Nothing of the refused changes was written.
    let after = app
        .get(&format!("/v1/admin/products/{}", id_of(&product)), Some(&staff))
        .await;
    assert_eq!(after.assert_status(200)["variants"], product["variants"]);
}

async fn category_is_created_with_slug_and_parent(app: TestApp) {
    let staff = app.staff_token().await;
    let response = app
        .post("/v1/admin/categories", Some(&staff), json!({"name": "Garden Tools"}))
        .await;
    let parent = response.assert_status(201).clone();
    assert!(id_of(&parent).starts_with("cat_"), "{parent}");
    assert_eq!(parent["name"], "Garden Tools");
    assert_eq!(parent["slug"], "garden-tools");
    assert!(parent["parent_id"].is_null(), "{parent}");
    assert_utc_timestamp(&parent["created_at"]);

    let child = app
        .post(
            "/v1/admin/categories",
            Some(&staff),
            json!({"name": "Spades", "slug": "spades", "parent_id": id_of(&parent)}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(child["slug"], "spades");
    assert_eq!(child["parent_id"], parent["id"]);
}

async fn inventory_adjustments_move_on_hand_and_available(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1000, 3).await;
    let path = format!("/v1/admin/inventory/{variant_id}/adjust");

    let added = app
        .post(&path, Some(&staff), json!({"delta": 5, "reason": "delivery"}))
        .await;
    let body = added.assert_status(200);
    assert_eq!(body["variant_id"], variant_id.as_str());
    assert_eq!(body["on_hand"], 8);
    assert_eq!(body["reserved"], 0);
    assert_eq!(body["available"], 8);

    let removed = app
        .post(&path, Some(&staff), json!({"delta": -2, "reason": "damaged"}))
        .await;
    assert_eq!(removed.assert_status(200)["on_hand"], 6);
    assert_eq!(app.stock(&staff, &variant_id).await, (6, 0, 6));
}

async fn inventory_cannot_go_below_zero(app: TestApp) {
    let staff = app.staff_token().await;
    let (_, variant_id) = app.published_product(&staff, 1000, 3).await;
    app.post(
        &format!("/v1/admin/inventory/{variant_id}/adjust"),
        Some(&staff),
        json!({"delta": -4, "reason": "shrinkage"}),
    )
    .await
    .assert_problem(409, "conflict");
    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (3, 0, 3),
        "a refused adjustment changes nothing"
    );
}

async fn adjusting_an_unknown_variant_is_404(app: TestApp) {
    let staff = app.staff_token().await;
    app.post(
        "/v1/admin/inventory/var_doesnotexist/adjust",
        Some(&staff),
        json!({"delta": 1, "reason": "count"}),
    )
    .await
    .assert_problem(404, "not_found");
}

/// One request to each kind of /v1/admin route, with valid bodies and existing ids.
async fn admin_requests(app: &TestApp, token: Option<&str>, staff: &str) -> Vec<(String, Response)> {
    let (product, variant_id) = app.published_product(staff, 1000, 5).await;
    let buyer = app.customer().await.0;
    let (order, _) = app.paid_order(staff, Some(&buyer), 1000, 1, 5).await;
    let product_path = format!("/v1/admin/products/{}", id_of(&product));
    let order_path = format!("/v1/admin/orders/{}", id_of(&order));
    let mut responses = Vec::new();
    let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::POST,
            "/v1/admin/products".to_owned(),
            Some(product_body("Forbidden", "FORBID-1")),
        ),
        (
            reqwest::Method::PATCH,
            product_path.clone(),
            Some(json!({"title": "Renamed"})),
        ),
        (
            reqwest::Method::POST,
            format!("{product_path}/variants"),
            Some(json!({"sku": "FORBID-2", "price": eur(100)})),
        ),
        (
            reqwest::Method::POST,
            "/v1/admin/categories".to_owned(),
            Some(json!({"name": "Nope"})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/admin/inventory/{variant_id}/adjust"),
            Some(json!({"delta": 1, "reason": "count"})),
        ),
        (reqwest::Method::GET, "/v1/admin/orders".to_owned(), None),
        (reqwest::Method::GET, order_path.clone(), None),
        (reqwest::Method::POST, format!("{order_path}/fulfill"), Some(json!({}))),
        (reqwest::Method::POST, format!("{order_path}/cancel"), Some(json!({}))),
        (
            reqwest::Method::POST,
            format!("{order_path}/refund"),
            Some(json!({"amount": 1})),
        ),
        (reqwest::Method::GET, "/v1/admin/events".to_owned(), None),
    ];
    for (method, path, body) in requests {
        let label = format!("{method} {path}");
        responses.push((label, app.send(method, &path, token, body).await));
    }
    responses
}

async fn admin_routes_are_forbidden_to_customers(app: TestApp) {
    let staff = app.staff_token().await;
    let (customer, _) = app.customer().await;
    for (request, response) in admin_requests(&app, Some(&customer), &staff).await {
        assert_eq!(
            response.status, 403,
            "{request} with a customer token: {}",
            response.text
        );
        response.assert_problem(403, "forbidden");
    }
}

async fn admin_routes_require_a_token(app: TestApp) {
    let staff = app.staff_token().await;
    for (request, response) in admin_requests(&app, None, &staff).await {
        assert_eq!(response.status, 401, "{request} without a token: {}", response.text);
        response.assert_problem(401, "unauthorized");
    }
}

/// Clients that sync by `updated_at` see a variant's change on its product.
async fn a_variant_change_moves_its_products_updated_at(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1000, 1).await;
    let path = format!("/v1/admin/products/{}", id_of(&product));
    let instant = |value: &serde_json::Value| {
        time::OffsetDateTime::parse(
            value.as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    let before = app.get(&path, Some(&staff)).await.body["updated_at"].clone();
    app.patch(
        &format!("/v1/admin/variants/{variant_id}"),
        Some(&staff),
        json!({"price": eur(1100)}),
    )
    .await
    .assert_status(200);
    let after_price = app.get(&path, Some(&staff)).await.body["updated_at"].clone();
    assert!(instant(&after_price) > instant(&before), "{before} then {after_price}");
    let added = json!({"sku": unique_sku(), "price": eur(900)});
    app.post(&format!("{path}/variants"), Some(&staff), added)
        .await
        .assert_status(201);
    let after_variant = app.get(&path, Some(&staff)).await.body["updated_at"].clone();
    assert!(
        instant(&after_variant) > instant(&after_price),
        "{after_price} then {after_variant}"
    );
}

/// A product's SEO title and description: set, checked, and on its page.
async fn seo_fields_are_kept_and_shown_to_search_engines(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1_000, 5).await;
    assert_eq!(
        (&product["seo_title"], &product["seo_description"]),
        (&json!(""), &json!(""))
    );
    let path = format!("/v1/admin/products/{}", id_of(&product));
    let set = app
        .patch(
            &path,
            Some(&staff),
            json!({"seo_title": " Best Lamp | Shop ", "seo_description": "A lamp that lasts."}),
        )
        .await;
    let set = set.assert_status(200);
    assert_eq!(set["seo_title"], "Best Lamp | Shop", "trimmed");
    assert_eq!(set["seo_description"], "A lamp that lasts.");
    let page = app
        .client
        .get(app.url(&format!("/products/{}", set["slug"].as_str().expect("slug"))))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("<title>Best Lamp | Shop"), "{page}");
    assert!(
        page.contains(r#"<meta name="description" content="A lamp that lasts.">"#),
        "{page}"
    );
    let refused = app
        .patch(
            &path,
            Some(&staff),
            json!({"seo_title": "x".repeat(71), "seo_description": "two\nlines"}),
        )
        .await;
    refused.assert_field_error("seo_title");
    refused.assert_field_error("seo_description");
}

crate::backend_tests!(
    seo_fields_are_kept_and_shown_to_search_engines,
    a_variant_change_moves_its_products_updated_at,
    new_product_is_a_draft_with_prefixed_ids,
    slug_is_made_from_the_title_and_numbered_on_collision,
    explicit_slug_that_is_taken_is_a_conflict,
    slug_with_spaces_or_capitals_is_refused,
    duplicate_sku_is_a_conflict,
    patch_publishes_renames_and_archives_a_product,
    added_variant_has_its_own_sku_price_and_stock,
    a_variants_price_change_shows_in_open_carts_but_not_in_orders,
    a_variant_patch_is_validated,
    category_is_created_with_slug_and_parent,
    inventory_adjustments_move_on_hand_and_available,
    inventory_cannot_go_below_zero,
    adjusting_an_unknown_variant_is_404,
    admin_routes_are_forbidden_to_customers,
    admin_routes_require_a_token,
);
