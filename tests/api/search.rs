//! Catalog search (contract: Catalog depth): full-text over titles, SKUs, category names
//! and descriptions, ranked with title matches first, prefixes for type-ahead, one typo
//! forgiven per word; filters, sorts and facets; the index follows every change at once.

use serde_json::{Value, json};

use crate::support::*;

/// A published product with one variant: its id.
async fn product(app: &TestApp, staff: &str, body: Value) -> String {
    let mut body = body;
    body["status"] = json!("published");
    id_of(
        app.post("/v1/admin/products", Some(staff), body)
            .await
            .assert_status(201),
    )
}

fn variant(sku: &str, price: i64) -> Value {
    json!({"sku": sku, "title": "Default", "price": {"amount": price, "currency": "EUR"}, "inventory": 5})
}

/// The ids `GET /v1/products?{query}` lists, in its order.
async fn found(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/v1/products?{query}"), None).await;
    response.assert_status(200)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(id_of)
        .collect()
}

async fn search_finds_titles_skus_categories_and_descriptions_title_first(app: TestApp) {
    let staff = app.staff_token().await;
    let category = id_of(
        app.post("/v1/admin/categories", Some(&staff), json!({"name": "Kitchenware"}))
            .await
            .assert_status(201),
    );
    let mug = product(
        &app,
        &staff,
        json!({"title": "Enamel Mug", "variants": [variant("MUG-ENAMEL-1", 1200)]}),
    )
    .await;
    let plate = product(
        &app,
        &staff,
        json!({"title": "Plain Plate", "description": "Goes with any mug; a mug's best friend, says every mug owner.",
               "variants": [variant("PLATE-1", 900)]}),
    )
    .await;
    let teapot = product(
        &app,
        &staff,
        json!({"title": "Teapot", "category_ids": [category], "variants": [variant("POT-1", 3000)]}),
    )
    .await;

    assert_eq!(
        found(&app, "q=mug").await,
        [mug.as_str(), plate.as_str()],
        "the title match first"
    );
    assert_eq!(
        found(&app, "q=kitchenware").await,
        [teapot.as_str()],
        "by category name"
    );
    assert_eq!(found(&app, "q=PLATE-1").await, [plate.as_str()], "by SKU");
    assert_eq!(
        found(&app, "q=enamel%20mug").await,
        [mug.as_str()],
        "every word must match"
    );
    assert!(found(&app, "q=enamel%20teapot").await.is_empty());
    assert!(
        found(&app, "q=%21%3F").await.is_empty(),
        "punctuation alone finds nothing"
    );
    // Type-ahead: the start of a word finds it.
    assert_eq!(found(&app, "q=enam").await, [mug.as_str()]);
    assert_eq!(found(&app, "q=tea").await, [teapot.as_str()]);
    // One typo per word of four letters or more: swapped, missing, extra or wrong letter.
    for typo in ["enmael", "enaml", "ennamel", "enamil", "teapto"] {
        assert!(
            !found(&app, &format!("q={typo}")).await.is_empty(),
            "{typo} is forgiven"
        );
    }
    assert_eq!(
        found(&app, "q=enmael%20muug").await,
        [mug.as_str()],
        "one typo in each word"
    );
    assert!(
        found(&app, "q=enmale").await.is_empty(),
        "two typos in one word are not"
    );

    // A word of the catalog is meant as typed: no neighbours are mixed in with it. And
    // numbers are exact: another number is another thing.
    let shirt = product(
        &app,
        &staff,
        json!({"title": "Linen Shirt", "variants": [variant("SHIRT-12345", 3000)]}),
    )
    .await;
    let short = product(
        &app,
        &staff,
        json!({"title": "Linen Short", "variants": [variant("SHORT-12346", 2800)]}),
    )
    .await;
    assert_eq!(found(&app, "q=shirt").await, [shirt.as_str()]);
    assert_eq!(found(&app, "q=short").await, [short.as_str()]);
    assert_eq!(found(&app, "q=12345").await, [shirt.as_str()]);
    assert!(found(&app, "q=12347").await.is_empty());
    // Words that are query syntax to the databases are only words here.
    for q in [
        "AND",
        "OR%20NOT",
        "NEAR",
        "%22mug%22",
        "mug*",
        "a%26b%7Cc%21",
        "%C2%B2",
        "caf%C3%A9",
    ] {
        app.get(&format!("/v1/products?q={q}"), None).await.assert_status(200);
    }

    // Drafts are not in the public catalog's search; staff find them.
    let draft = id_of(
        app.post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Secret Saucer", "variants": [variant("SAUCER-1", 500)]}),
        )
        .await
        .assert_status(201),
    );
    assert!(found(&app, "q=saucer").await.is_empty());
    let staff_search = app.get("/v1/admin/products?q=saucer", Some(&staff)).await;
    assert_eq!(staff_search.assert_status(200)["data"][0]["id"], draft.as_str());
}

async fn the_index_follows_every_change_in_its_transaction(app: TestApp) {
    let staff = app.staff_token().await;
    let lamp = product(
        &app,
        &staff,
        json!({"title": "Desk Lamp", "variants": [variant("DL-1", 4500)]}),
    )
    .await;
    app.patch(
        &format!("/v1/admin/products/{lamp}"),
        Some(&staff),
        json!({"title": "Reading Light"}),
    )
    .await
    .assert_status(200);
    assert_eq!(found(&app, "q=reading").await, [lamp.as_str()]);
    assert!(found(&app, "q=lamp").await.is_empty(), "the old title is gone");

    app.post(
        &format!("/v1/admin/products/{lamp}/variants"),
        Some(&staff),
        json!({"sku": "BULB-WARM", "title": "Warm", "price": {"amount": 4700, "currency": "EUR"}, "inventory": 1}),
    )
    .await
    .assert_status(201);
    assert_eq!(found(&app, "q=bulb").await, [lamp.as_str()], "a new variant's SKU");

    let category = id_of(
        app.post("/v1/admin/categories", Some(&staff), json!({"name": "Lighting"}))
            .await
            .assert_status(201),
    );
    app.patch(
        &format!("/v1/admin/products/{lamp}"),
        Some(&staff),
        json!({"category_ids": [category]}),
    )
    .await
    .assert_status(200);
    assert_eq!(
        found(&app, "q=lighting").await,
        [lamp.as_str()],
        "a new category's name"
    );
    // A word first seen in the edit is forgiven a typo too.
    assert_eq!(found(&app, "q=lihgting").await, [lamp.as_str()]);
}

async fn prices_filter_sort_and_facets_cover_every_match(app: TestApp) {
    let staff = app.staff_token().await;
    let category = id_of(
        app.post("/v1/admin/categories", Some(&staff), json!({"name": "Vases"}))
            .await
            .assert_status(201),
    );
    let small = product(
        &app,
        &staff,
        json!({"title": "Small Vase", "category_ids": [category], "variants": [variant("VASE-S", 500)]}),
    )
    .await;
    let medium = product(
        &app,
        &staff,
        json!({"title": "Medium Vase", "variants": [variant("VASE-M", 1500)]}),
    )
    .await;
    let large = product(
        &app,
        &staff,
        json!({"title": "Large Vase", "category_ids": [category], "variants": [variant("VASE-L1", 2500), variant("VASE-L2", 3500)]}),
    )
    .await;

    assert_eq!(
        found(&app, "q=vase&sort=price_asc").await,
        [small.as_str(), medium.as_str(), large.as_str()]
    );
    assert_eq!(
        found(&app, "q=vase&sort=price_desc").await,
        [large.as_str(), medium.as_str(), small.as_str()]
    );
    assert_eq!(
        found(&app, "sort=price_asc").await,
        [small.as_str(), medium.as_str(), large.as_str()],
        "without q too"
    );
    assert_eq!(
        found(&app, "q=vase&min_price=1000&max_price=2500&sort=price_asc").await,
        [medium.as_str(), large.as_str()],
        "inclusive bounds"
    );
    assert_eq!(
        found(&app, "q=vase&min_price=3500").await,
        [large.as_str()],
        "any variant's price"
    );

    // Facets count every match, not only the page's.
    let page = app.get("/v1/products?q=vase&facets=true&limit=1", None).await;
    let page = page.assert_status(200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["facets"]["categories"], json!([{"id": category, "count": 2}]));
    assert_eq!(page["facets"]["price"], json!({"min": eur(500), "max": eur(3500)}));
    let plain = app.get("/v1/products?q=vase", None).await;
    assert!(plain.assert_status(200).get("facets").is_none(), "only when asked for");

    // The pages of a search, by cursor, hold every match once, in order.
    let mut seen = Vec::new();
    let mut path = "/v1/products?q=vase&sort=price_asc&limit=2".to_owned();
    loop {
        let page = app.get(&path, None).await;
        let page = page.assert_status(200);
        seen.extend(page["data"].as_array().expect("data").iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/products?q=vase&sort=price_asc&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [small.as_str(), medium.as_str(), large.as_str()]);

    // Prices in another currency: a variant's row for it.
    app.patch("/v1/admin/shop", Some(&staff), json!({"currencies": ["EUR", "USD"]}))
        .await
        .assert_status(200);
    let listed = app.get(&format!("/v1/admin/products/{small}"), Some(&staff)).await;
    let small_variant = listed.assert_status(200)["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    app.patch(
        &format!("/v1/admin/variants/{small_variant}"),
        Some(&staff),
        json!({"prices": [{"amount": 9900, "currency": "USD"}]}),
    )
    .await
    .assert_status(200);
    assert_eq!(
        found(&app, "q=vase&currency=USD&min_price=9000").await,
        [small.as_str()],
        "its dollar price"
    );
    let in_dollars = app.get("/v1/products?q=vase&currency=USD&facets=true", None).await;
    assert_eq!(
        in_dollars.assert_status(200)["facets"]["price"],
        json!({"min": {"amount": 9900, "currency": "USD"}, "max": {"amount": 9900, "currency": "USD"}}),
        "only the prices in dollars"
    );
    let bounded = app
        .get("/v1/products?q=vase&facets=true&min_price=1000&max_price=3000", None)
        .await;
    assert_eq!(
        bounded.assert_status(200)["facets"]["price"],
        json!({"min": eur(1500), "max": eur(2500)}),
        "the range of the prices the filter let through"
    );

    for bad in [
        "sort=relevance",
        "sort=cheapest",
        "min_price=-1",
        "min_price=10&max_price=5",
    ] {
        app.get(&format!("/v1/products?{bad}"), None)
            .await
            .assert_problem(422, "validation_failed");
    }
}

/// Products written past Backroom (a bulk load in SQL) are not in the index until it is
/// rebuilt, as `backroom reindex` does.
async fn a_rebuild_indexes_products_loaded_with_sql(app: TestApp) {
    let staff = app.staff_token().await;
    product(
        &app,
        &staff,
        json!({"title": "Copper Kettle", "variants": [variant("KETTLE-1", 4000)]}),
    )
    .await;
    app.store
        .execute_unchecked(
            "INSERT INTO products (id, slug, title, description, status, created_at, updated_at)
             VALUES ('prod_bulk', 'bulk-teacup', 'Bulk Teacup', 'Loaded with SQL', 'published', 1, 1)"
                .to_owned(),
        )
        .await
        .expect("bulk insert");
    assert!(found(&app, "q=teacup").await.is_empty(), "not indexed yet");
    backroom::domain::search::rebuild_index(&app.store)
        .await
        .expect("rebuild");
    assert_eq!(found(&app, "q=teacup").await, ["prod_bulk"]);
    assert_eq!(
        found(&app, "q=teacpu").await,
        ["prod_bulk"],
        "its words are in the vocabulary"
    );
    assert_eq!(found(&app, "q=kettle").await.len(), 1, "the others stay");
}

/// A word in more than a thousand products: a ranking lists every match once, every
/// title match before the descriptions' matches and each tier newest first, by a cursor
/// that neither the plain listing nor another sort takes.
async fn a_ranking_lists_every_match_once_title_matches_first(app: TestApp) {
    let total = 1_005;
    let title_match = |n: usize| !n.is_multiple_of(5);
    let rows: Vec<String> = (0..total)
        .map(|n| {
            let title = if title_match(n) {
                format!("Lantern {n}")
            } else {
                format!("Lamp {n}")
            };
            format!("('prod_{n:032x}', 'item-{n}', '{title}', 'A lantern', 'published', {n}, {n})")
        })
        .collect();
    app.store
        .execute_unchecked(format!(
            "INSERT INTO products (id, slug, title, description, status, created_at, updated_at) VALUES {}",
            rows.join(", ")
        ))
        .await
        .expect("bulk insert");
    backroom::domain::search::rebuild_index(&app.store)
        .await
        .expect("rebuild");

    let all_pages = |sort: &'static str| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            let mut path = format!("/v1/products?q=lantern&sort={sort}&limit=100");
            loop {
                let page = app.get(&path, None).await;
                let page = page.assert_status(200);
                seen.extend(page["data"].as_array().expect("data").iter().map(id_of));
                match page["next_cursor"].as_str() {
                    Some(cursor) => path = format!("/v1/products?q=lantern&sort={sort}&limit=100&cursor={cursor}"),
                    None => break seen,
                }
            }
        }
    };
    let ranked = all_pages("relevance").await;
    let id = |n: usize| format!("prod_{n:032x}");
    let titles = (0..total).rev().filter(|n| title_match(*n)).map(id);
    let descriptions = (0..total).rev().filter(|n| !title_match(*n)).map(id);
    let expected: Vec<String> = titles.chain(descriptions).collect();
    assert_eq!(ranked.len(), total, "every match");
    assert!(
        ranked == expected,
        "title matches first, each tier newest first, each once"
    );
    assert_eq!(all_pages("newest").await.len(), total, "sorted by newest, every match");

    // A ranking's cursor is its own.
    let first = app.get("/v1/products?q=lantern&limit=2", None).await;
    let cursor = first.assert_status(200)["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    for path in [
        format!("/v1/products?cursor={cursor}"),
        format!("/v1/products?q=lantern&sort=newest&cursor={cursor}"),
    ] {
        let refused = app.get(&path, None).await;
        assert_eq!(refused.assert_status(422)["errors"][0]["field"], "cursor", "{path}");
    }
    let newest = app.get("/v1/products?q=lantern&sort=newest&limit=2", None).await;
    let offset_cursor = newest.assert_status(200)["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    app.get(&format!("/v1/products?q=lantern&cursor={offset_cursor}"), None)
        .await
        .assert_status(422);
}

/// The start of a word finds every word it starts, however many there are, however long,
/// and whatever the accents after it.
async fn a_prefix_finds_every_word_it_starts(app: TestApp) {
    let staff = app.staff_token().await;
    let long_word = "pneumonoultramicroscopicsilicovolcanoconiosis";
    assert!(long_word.len() > 40, "longer than a word looked up for typos");
    let poster = product(
        &app,
        &staff,
        json!({"title": format!("{long_word} poster"), "variants": [variant("POSTER-1", 1500)]}),
    )
    .await;
    let tin = product(
        &app,
        &staff,
        json!({"title": "Cafés du Monde tin", "variants": [variant("TIN-1", 700)]}),
    )
    .await;
    let canoe = product(
        &app,
        &staff,
        json!({"title": "Canoe paddle", "variants": [variant("PADDLE-1", 5000)]}),
    )
    .await;
    product(
        &app,
        &staff,
        json!({"title": "Cañada blanket", "variants": [variant("BLANKET-1", 6000)]}),
    )
    .await;
    let mut widgets = Vec::new();
    for n in 1..=40 {
        let body = json!({"title": format!("Widget{n}"), "variants": [variant(&format!("W-{n}"), 100)]});
        widgets.push(product(&app, &staff, body).await);
    }

    assert_eq!(found(&app, "q=pneumono").await, [poster.as_str()]);
    assert_eq!(found(&app, &format!("q={}", &long_word[..42])).await, [poster.as_str()]);
    assert_eq!(found(&app, "q=caf").await, [tin.as_str()]);
    assert_eq!(found(&app, "q=caf%C3%A9").await, [tin.as_str()]);
    if app.database_url.starts_with("sqlite") {
        // FTS5 folds accents on both sides; PostgreSQL's `simple` configuration does not.
        assert_eq!(found(&app, "q=cafe").await, [tin.as_str()]);
    }
    assert_eq!(
        found(&app, "q=cano").await,
        [canoe.as_str()],
        "not cañada, which starts otherwise once its accent is folded"
    );
    let mut all = found(&app, "q=widget&limit=100").await;
    all.sort();
    let mut expected = widgets.clone();
    expected.sort();
    assert_eq!(all, expected, "more words than are spelt out");
    let tens: Vec<&str> = [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1]
        .iter()
        .map(|n| widgets[n - 1].as_str())
        .collect();
    assert_eq!(found(&app, "q=widget1&limit=100").await, tens, "newest first");
}

crate::backend_tests!(
    a_prefix_finds_every_word_it_starts,
    a_ranking_lists_every_match_once_title_matches_first,
    a_rebuild_indexes_products_loaded_with_sql,
    search_finds_titles_skus_categories_and_descriptions_title_first,
    the_index_follows_every_change_in_its_transaction,
    prices_filter_sort_and_facets_cover_every_match,
);
