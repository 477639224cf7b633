//! The public catalog: published products, search, category filter, categories and list paging.

use crate::support::*;
use serde_json::{Value, json};

/// Creates a product with one variant through the admin API and returns it.
async fn create_product(
    app: &TestApp,
    staff: &str,
    title: &str,
    description: &str,
    status: &str,
    category_ids: Value,
) -> Value {
    let sku = format!("SKU-{}", title.to_uppercase().replace(' ', "-"));
    app.post(
        "/v1/admin/products",
        Some(staff),
        json!({
            "title": title,
            "description": description,
            "status": status,
            "category_ids": category_ids,
            "variants": [{"sku": sku, "price": eur(1200), "inventory": 3}]
        }),
    )
    .await
    .assert_status(201)
    .clone()
}

/// The ids of `GET path`'s list, asserting the list shape.
async fn listed_ids(app: &TestApp, path: &str) -> Vec<String> {
    let list = app.get(path, None).await.assert_status(200).clone();
    assert!(list.get("next_cursor").is_some(), "lists carry `next_cursor`: {list}");
    ids_in(&list)
}

async fn draft_product_is_hidden_from_the_public_catalog(app: TestApp) {
    let staff = app.staff_token().await;
    let draft = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Secret Lamp", "variants": [{"sku": "LAMP-1", "price": eur(4000), "inventory": 5}]}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(draft["status"], "draft", "products are drafts by default");
    let (published, _) = app.published_product(&staff, 1000, 1).await;

    let listed = listed_ids(&app, "/v1/products").await;
    assert_eq!(listed, vec![id_of(&published)], "only the published product is listed");
    app.get(&format!("/v1/products/{}", id_of(&draft)), None)
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/products/secret-lamp", None)
        .await
        .assert_problem(404, "not_found");
}

async fn published_product_is_found_by_id_and_by_slug(app: TestApp) {
    let staff = app.staff_token().await;
    let created = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({
                "title": "Walnut Board",
                "description": "Oiled walnut",
                "status": "published",
                "variants": [{"sku": "BOARD-S", "title": "Small", "price": eur(2950), "inventory": 7, "options": {"size": "S"}}]
            }),
        )
        .await
        .assert_status(201)
        .clone();

    for key in [id_of(&created), "walnut-board".to_owned()] {
        let product = app
            .get(&format!("/v1/products/{key}"), None)
            .await
            .assert_status(200)
            .clone();
        assert!(
            id_of(&product).starts_with("prod_"),
            "product ids start with prod_: {product}"
        );
        assert_eq!(product["id"], created["id"]);
        assert_eq!(product["slug"], "walnut-board");
        assert_eq!(product["title"], "Walnut Board");
        assert_eq!(product["description"], "Oiled walnut");
        assert_eq!(product["status"], "published");
        assert!(
            product["category_ids"].is_array() && product["images"].is_array(),
            "{product}"
        );
        assert_utc_timestamp(&product["created_at"]);
        assert_utc_timestamp(&product["updated_at"]);
        let variant = &product["variants"][0];
        assert!(
            id_of(variant).starts_with("var_"),
            "variant ids start with var_: {variant}"
        );
        assert_eq!(variant["sku"], "BOARD-S");
        assert_eq!(variant["title"], "Small");
        assert_money(&variant["price"], 2950);
        assert_eq!(variant["available"], 7);
        assert_eq!(variant["options"]["size"], "S");
    }
}

async fn unknown_product_is_404(app: TestApp) {
    app.get("/v1/products/prod_doesnotexist", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/products/no-such-slug", None)
        .await
        .assert_problem(404, "not_found");
}

async fn search_matches_title_and_description_without_regard_to_case(app: TestApp) {
    let staff = app.staff_token().await;
    let mug = create_product(&app, &staff, "Blue Mug", "Ceramic, 300 ml", "published", json!([])).await;
    let towel = create_product(
        &app,
        &staff,
        "Tea Towel",
        "Cotton with a BLUE stripe",
        "published",
        json!([]),
    )
    .await;
    let kettle = create_product(&app, &staff, "Red Kettle", "Steel", "published", json!([])).await;
    create_product(&app, &staff, "Blue Draft", "Not for sale yet", "draft", json!([])).await;

    let mut blue = listed_ids(&app, "/v1/products?q=blue").await;
    blue.sort();
    let mut expected = vec![id_of(&mug), id_of(&towel)];
    expected.sort();
    assert_eq!(
        blue, expected,
        "q matches titles and descriptions of published products"
    );
    assert_eq!(listed_ids(&app, "/v1/products?q=CERAMIC").await, vec![id_of(&mug)]);
    assert_eq!(listed_ids(&app, "/v1/products?q=kettle").await, vec![id_of(&kettle)]);
    assert!(listed_ids(&app, "/v1/products?q=zeppelin").await.is_empty());
}

async fn category_filter_accepts_an_id_or_a_slug(app: TestApp) {
    let staff = app.staff_token().await;
    let kitchen = app
        .post(
            "/v1/admin/categories",
            Some(&staff),
            json!({"name": "Kitchen", "slug": "kitchen"}),
        )
        .await
        .assert_status(201)
        .clone();
    let pan = create_product(&app, &staff, "Iron Pan", "Heavy", "published", json!([id_of(&kitchen)])).await;
    assert_eq!(pan["category_ids"], json!([id_of(&kitchen)]));
    create_product(&app, &staff, "Garden Hose", "Long", "published", json!([])).await;

    let by_id = listed_ids(&app, &format!("/v1/products?category={}", id_of(&kitchen))).await;
    assert_eq!(by_id, vec![id_of(&pan)]);
    let by_slug = listed_ids(&app, "/v1/products?category=kitchen").await;
    assert_eq!(by_slug, vec![id_of(&pan)]);
}

async fn categories_are_listed_publicly(app: TestApp) {
    let staff = app.staff_token().await;
    let home = app
        .post("/v1/admin/categories", Some(&staff), json!({"name": "Home"}))
        .await
        .assert_status(201)
        .clone();
    let lamps = app
        .post(
            "/v1/admin/categories",
            Some(&staff),
            json!({"name": "Lamps", "parent_id": id_of(&home)}),
        )
        .await
        .assert_status(201)
        .clone();

    let list = app.get("/v1/categories", None).await.assert_status(200).clone();
    assert!(list.get("next_cursor").is_some(), "lists carry `next_cursor`: {list}");
    let data = list["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{list}");
    let listed_lamps = data
        .iter()
        .find(|category| category["id"] == lamps["id"])
        .expect("Lamps is listed");
    assert_eq!(listed_lamps["name"], "Lamps");
    assert_eq!(listed_lamps["slug"], "lamps");
    assert_eq!(listed_lamps["parent_id"], home["id"]);
}

async fn products_are_listed_newest_first(app: TestApp) {
    let staff = app.staff_token().await;
    let mut created = Vec::new();
    for _ in 0..3 {
        let (product, _) = app.published_product(&staff, 500, 1).await;
        created.push(id_of(&product));
    }
    created.reverse();
    assert_eq!(listed_ids(&app, "/v1/products").await, created);
}

async fn cursor_walk_visits_every_product_exactly_once(app: TestApp) {
    let staff = app.staff_token().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        let (product, _) = app.published_product(&staff, 500, 1).await;
        created.push(id_of(&product));
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/products?limit=2".to_owned();
    loop {
        pages += 1;
        assert!(pages <= 3, "five products in pages of two take three pages");
        let page = app.get(&path, None).await.assert_status(200).clone();
        let ids = ids_in(&page);
        assert!(ids.len() <= 2, "limit is honoured: {page}");
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/products?limit=2&cursor={}", encode_query(cursor)),
            None => {
                assert!(
                    page["next_cursor"].is_null(),
                    "the last page has next_cursor null: {page}"
                );
                break;
            }
        }
    }
    assert_eq!(seen, created, "every product once, newest first");
}

async fn list_limit_outside_1_to_100_is_refused(app: TestApp) {
    app.get("/v1/products?limit=0", None)
        .await
        .assert_problem(422, "validation_failed");
    app.get("/v1/products?limit=101", None)
        .await
        .assert_problem(422, "validation_failed");
    app.get("/v1/products?limit=1", None).await.assert_status(200);
    app.get("/v1/products?limit=100", None).await.assert_status(200);
}

async fn unparsable_cursor_is_refused(app: TestApp) {
    app.get("/v1/products?cursor=garbage%21%21not-a-cursor", None)
        .await
        .assert_problem(422, "validation_failed");
}

/// Catalog reads carry an ETag and revalidate: the same content is 304 with no body, and
/// a stock change makes a new tag (the `available` counts are part of the content).
async fn catalog_reads_revalidate_with_etags(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 1250, 5).await;
    let path = format!("/v1/products/{}", product["slug"].as_str().expect("slug"));
    let first = app.get(&path, None).await;
    first.assert_status(200);
    assert_eq!(first.header("cache-control"), Some("public, no-cache"));
    let etag = first.header("etag").expect("an ETag").to_owned();

    let again = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    assert!(again.text().await.expect("body").is_empty());

    app.post(
        &format!("/v1/admin/inventory/{variant_id}/adjust"),
        Some(&staff),
        json!({"delta": 1, "reason": "count"}),
    )
    .await
    .assert_status(200);
    let changed = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(changed.status(), 200, "the stock changed, so the content did");
    assert_ne!(
        changed.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some(etag.as_str())
    );

    let list = app.get("/v1/products", None).await;
    assert!(list.header("etag").is_some(), "lists carry a tag too");
}

crate::backend_tests!(
    catalog_reads_revalidate_with_etags,
    draft_product_is_hidden_from_the_public_catalog,
    published_product_is_found_by_id_and_by_slug,
    unknown_product_is_404,
    search_matches_title_and_description_without_regard_to_case,
    category_filter_accepts_an_id_or_a_slug,
    categories_are_listed_publicly,
    products_are_listed_newest_first,
    cursor_walk_visits_every_product_exactly_once,
    list_limit_outside_1_to_100_is_refused,
    unparsable_cursor_is_refused,
);
