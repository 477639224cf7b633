//! The catalog in Shopify's product CSV: imported row by row (a bad row reported with its
//! number and changing nothing), imported again as updates, exported, and round-tripped.

use serde_json::{Value, json};

use crate::support::*;

/// A Shopify export as its admin writes one: a product with two colours on continuation
/// rows, one with a single default variant, and the columns we do not use.
const SHOPIFY_CSV: &str = "\
Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Fulfillment Service,Variant Price,Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode,Image Src,Image Position,Image Alt Text,Gift Card,SEO Title,SEO Description,Variant Weight Unit,Status
camp-mug,Camp Mug,\"<p>Enamel &amp; steel.<br>Holds 350 ml.</p>\",Acme,,Mugs,\"Kitchen, Camp\",TRUE,Color,White,Size,Small,,,CSV-MUG-W-S,320,shopify,12,deny,manual,18.50,,TRUE,TRUE,,,,,FALSE,Camp Mug | Acme,A 350 ml enamel mug for camp and kitchen.,g,active
camp-mug,,,,,,,,,White,,Large,,,CSV-MUG-W-L,410,shopify,4,deny,manual,21,,TRUE,TRUE,,,,,,,,g,
camp-mug,,,,,,,,,Navy,,Small,,,CSV-MUG-N-S,320,shopify,0,deny,manual,18.50,,TRUE,TRUE,,,,,,,,g,
wool-socks,Wool Socks,<p>Warm.</p>,Acme,,Socks,Apparel,FALSE,Title,Default Title,,,,,CSV-SOCKS,90,shopify,30,deny,manual,12,,TRUE,TRUE,,,,,FALSE,,,g,draft
";

async fn import(app: &TestApp, staff: &str, csv: &str) -> Response {
    let response = app
        .client
        .post(app.url("/v1/admin/products/import"))
        .bearer_auth(staff)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("import reaches the server");
    read(response).await
}

async fn staff_product(app: &TestApp, staff: &str, slug: &str) -> Value {
    app.get(&format!("/v1/admin/products/{slug}"), Some(staff))
        .await
        .assert_status(200)
        .clone()
}

fn variant<'a>(product: &'a Value, sku: &str) -> &'a Value {
    product["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|variant| variant["sku"] == sku)
        .unwrap_or_else(|| panic!("no variant {sku} in {product}"))
}

async fn a_shopify_export_becomes_the_catalog(app: TestApp) {
    let staff = app.staff_token().await;
    let report = import(&app, &staff, SHOPIFY_CSV).await;
    assert_eq!(
        report.assert_status(200),
        &json!({"created": 2, "updated": 0, "errors": []})
    );
    let mug = staff_product(&app, &staff, "camp-mug").await;
    assert_eq!(mug["title"], "Camp Mug");
    assert_eq!(mug["status"], "published");
    assert_eq!(mug["description"], "Enamel & steel.\nHolds 350 ml.");
    assert_eq!(mug["seo_title"], "Camp Mug | Acme");
    assert_eq!(mug["seo_description"], "A 350 ml enamel mug for camp and kitchen.");
    let skus: Vec<&str> = mug["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["sku"].as_str().expect("sku"))
        .collect();
    assert_eq!(
        skus,
        ["CSV-MUG-W-S", "CSV-MUG-W-L", "CSV-MUG-N-S"],
        "in the file's order"
    );
    let large = variant(&mug, "CSV-MUG-W-L");
    assert_eq!(large["title"], "White / Large");
    assert_eq!(large["options"], json!({"Color": "White", "Size": "Large"}));
    assert_eq!(large["price"], json!({"amount": 2100, "currency": "EUR"}));
    assert_eq!(large["available"], 4);
    assert_eq!(large["weight_grams"], 410);
    assert_eq!(variant(&mug, "CSV-MUG-N-S")["available"], 0);

    let categories = app.get("/v1/categories", None).await;
    let names: Vec<&str> = categories.assert_status(200)["data"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&"Kitchen") && names.contains(&"Camp"),
        "tags become categories: {names:?}"
    );
    assert_eq!(mug["category_ids"].as_array().expect("ids").len(), 2);

    let socks = staff_product(&app, &staff, "wool-socks").await;
    assert_eq!(socks["status"], "draft");
    assert_eq!(socks["variants"][0]["title"], "Default");
    assert_eq!(socks["variants"][0]["options"], json!({}));
    let found = app.get("/v1/products?q=camp%20mug", None).await;
    assert_eq!(
        found.assert_status(200)["data"][0]["slug"],
        "camp-mug",
        "searchable at once"
    );

    // The same file again, with a new price and stock: updates, no duplicates.
    let changed = SHOPIFY_CSV.replace(
        "CSV-MUG-W-L,410,shopify,4,deny,manual,21,",
        "CSV-MUG-W-L,410,shopify,9,deny,manual,22.00,",
    );
    let again = import(&app, &staff, &changed).await;
    assert_eq!(
        again.assert_status(200),
        &json!({"created": 0, "updated": 2, "errors": []})
    );
    let mug = staff_product(&app, &staff, "camp-mug").await;
    assert_eq!(mug["variants"].as_array().expect("variants").len(), 3);
    let large = variant(&mug, "CSV-MUG-W-L");
    assert_eq!(large["price"]["amount"], 2200);
    assert_eq!(large["available"], 9);
    let listed = app.get("/v1/admin/products?limit=100", Some(&staff)).await;
    assert_eq!(listed.assert_status(200)["data"].as_array().expect("data").len(), 2);

    // A stock file (no option columns) changes the stock and leaves the rest; Shopify's
    // oversold (negative) stock is none left.
    let stock = "Handle,Variant SKU,Variant Inventory Qty\ncamp-mug,CSV-MUG-W-L,7\ncamp-mug,CSV-MUG-N-S,-2\n";
    let report = import(&app, &staff, stock).await;
    assert_eq!(
        report.assert_status(200),
        &json!({"created": 0, "updated": 1, "errors": []})
    );
    let mug = staff_product(&app, &staff, "camp-mug").await;
    let large = variant(&mug, "CSV-MUG-W-L");
    assert_eq!(large["available"], 7);
    assert_eq!(large["title"], "White / Large");
    assert_eq!(large["options"], json!({"Color": "White", "Size": "Large"}));
    assert_eq!(variant(&mug, "CSV-MUG-N-S")["available"], 0);
    assert_eq!(
        mug["category_ids"].as_array().map(Vec::len),
        Some(2),
        "its categories stay"
    );
}

async fn a_bad_row_is_reported_and_changes_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    let (other, _) = app.published_product(&staff, 1_000, 5).await;
    let taken_sku = variant(&other, other["variants"][0]["sku"].as_str().expect("sku"))["sku"]
        .as_str()
        .expect("sku")
        .to_owned();
    let csv = format!(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Tags,Body (HTML)\n\
         good-lamp,Good Lamp,Title,Default Title,LAMP-1,30.00,5,Lighting,\"<p>Bright.</p>\n<p>Warm.</p>\"\n\
         bad-price,Bad Price,Title,Default Title,BAD-1,thirty,5,Lighting\n\
         bad-price,,,Second,BAD-2,31.00,5,\n\
         stolen-sku,Stolen SKU,Title,Default Title,{taken_sku},10.00,5,Brand New Tag\n\
         no-title,,Title,Default Title,NT-1,10.00,5,\n\
         good-lamp,,,Second,LAMP-2,32.00,1e3,\n\
         Bad Handle,Bad Handle,Title,Default Title,BH-1,10.00,5,\n\
         good-lamp,,,Third,LAMP-3,33.00,2,\n"
    );
    let report = import(&app, &staff, &csv).await;
    let report = report.assert_status(200);
    assert_eq!(report["created"], 1);
    let rows: Vec<i64> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["row"].as_i64().expect("row"))
        .collect();
    // Lines of the file: the first row's quoted description spans two.
    assert_eq!(rows, [4, 5, 6, 7, 8, 9], "{report}");
    let message = |row: i64| {
        report["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .find(|error| error["row"] == row)
            .map(|error| error["message"].as_str().expect("message").to_owned())
            .expect("message")
    };
    assert!(message(4).contains("Variant Price \"thirty\""), "{}", message(4));
    assert!(message(5).contains("first row of bad-price failed"), "{}", message(5));
    assert!(message(6).contains(&format!("SKU {taken_sku}")), "{}", message(6));
    assert!(message(7).contains("needs a Title"), "{}", message(7));
    assert!(message(8).contains("Inventory Qty"), "{}", message(8));
    assert!(message(9).contains("Handle"), "{}", message(9));

    // Nothing of the refused rows stayed: no product, no variant, no category.
    for slug in ["bad-price", "stolen-sku", "no-title"] {
        app.get(&format!("/v1/admin/products/{slug}"), Some(&staff))
            .await
            .assert_problem(404, "not_found");
    }
    let lamp = staff_product(&app, &staff, "good-lamp").await;
    let skus: Vec<&str> = lamp["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["sku"].as_str().expect("sku"))
        .collect();
    assert_eq!(skus, ["LAMP-1", "LAMP-3"]);
    let categories = app.get("/v1/categories", None).await;
    assert!(
        !categories.text.contains("Brand New Tag"),
        "the refused row's tag made no category"
    );
    let other_now = staff_product(&app, &staff, &id_of(&other)).await;
    assert_eq!(
        other_now["variants"], other["variants"],
        "the other product is untouched"
    );

    // What is not a Shopify CSV is refused whole.
    import(&app, &staff, "name,price\nmug,3\n")
        .await
        .assert_field_error("body");
    let not_csv = app
        .post("/v1/admin/products/import", Some(&staff), json!({"Handle": "x"}))
        .await;
    not_csv.assert_problem(415, "unsupported_media_type");
    let (customer, _) = app.customer().await;
    import(&app, &customer, SHOPIFY_CSV)
        .await
        .assert_problem(403, "forbidden");
}

async fn an_export_imports_into_another_shop_as_the_same_catalog(app: TestApp) {
    let staff = app.staff_token().await;
    import(&app, &staff, SHOPIFY_CSV).await.assert_status(200);
    let product = staff_product(&app, &staff, "camp-mug").await;
    let image = crate::images::upload(
        &app,
        &staff,
        &id_of(&product),
        crate::images::png(40, 30),
        Some("The mug"),
    )
    .await;
    image.assert_status(201);

    let export = app
        .client
        .get(app.url("/v1/admin/products/export?format=csv"))
        .bearer_auth(&staff)
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = export.text().await.expect("csv");
    assert!(csv.starts_with("Handle,Title,Body (HTML),"), "{csv}");
    assert!(
        csv.contains(&format!("{}/media/images/", app.options.public_url)),
        "absolute image addresses: {csv}"
    );
    assert!(csv.contains(",The mug,"), "{csv}");
    app.get("/v1/admin/products/export?format=xml", Some(&staff))
        .await
        .assert_field_error("format");

    // The export imported back into the same shop changes nothing, and fetches no image:
    // its addresses name images the products have.
    let back = import(&app, &staff, &csv).await;
    assert_eq!(
        back.assert_status(200),
        &json!({"created": 0, "updated": 2, "errors": []})
    );
    let mug = staff_product(&app, &staff, "camp-mug").await;
    assert_eq!(mug["images"].as_array().map(Vec::len), Some(1));
    assert_eq!(mug["variants"], product["variants"], "its variants as they were");

    // Another shop, on a database of its own, which may fetch from this test's loopback
    // server (as this shop's public address, which the export's image addresses use).
    let csv = csv.replace(&app.options.public_url, &app.base_url);
    let fresh = fresh_database(app.database_url.starts_with("postgres"))
        .await
        .expect("database");
    let mut options = backroom::server::ServerOptions::for_tests();
    options.outbound_allow_private = true;
    let other = TestApp::start(&fresh.url, options).await;
    let other_staff = other.staff_token().await;
    let report = import(&other, &other_staff, &csv).await;
    assert_eq!(
        report.assert_status(200),
        &json!({"created": 2, "updated": 0, "errors": []})
    );
    for slug in ["camp-mug", "wool-socks"] {
        let original = staff_product(&app, &staff, slug).await;
        let copy = staff_product(&other, &other_staff, slug).await;
        for field in ["title", "description", "status", "slug", "seo_title", "seo_description"] {
            assert_eq!(copy[field], original[field], "{slug}: {field}");
        }
        let shape = |product: &Value| -> Vec<Value> {
            product["variants"]
                .as_array()
                .expect("variants")
                .iter()
                .map(|v| {
                    json!([
                        v["sku"],
                        v["title"],
                        v["price"],
                        v["available"],
                        v["options"],
                        v["weight_grams"]
                    ])
                })
                .collect()
        };
        assert_eq!(shape(&copy), shape(&original), "{slug}: variants");
        assert_eq!(
            copy["category_ids"].as_array().map(Vec::len),
            original["category_ids"].as_array().map(Vec::len),
            "{slug}: categories"
        );
        let pictures = |product: &Value| -> Vec<Value> {
            product["images"]
                .as_array()
                .expect("images")
                .iter()
                .map(|image| json!([image["alt"], image["width"], image["height"]]))
                .collect()
        };
        assert_eq!(pictures(&copy), pictures(&original), "{slug}: images, downloaded");
    }
    // Importing it again changes nothing: no image is fetched twice.
    let again = import(&other, &other_staff, &csv).await;
    assert_eq!(
        again.assert_status(200),
        &json!({"created": 0, "updated": 2, "errors": []})
    );
    let mug = staff_product(&other, &other_staff, "camp-mug").await;
    assert_eq!(mug["images"].as_array().map(Vec::len), Some(1));
    drop(other);
    fresh.drop_database().await;
}

/// An image URL into the server's own network is not fetched (unless the operator allows
/// it): the row's other columns land and the row is reported; a URL that is not http(s)
/// refuses the row whole.
async fn image_urls_into_private_networks_are_not_fetched(app: TestApp) {
    let staff = app.staff_token().await;
    let csv = format!(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Image Src,Image Alt Text\n\
         lamp-x,Lamp X,Title,Default Title,LX-1,10.00,{}/media/images/x.jpg,A lamp\n\
         lamp-y,Lamp Y,Title,Default Title,LY-1,10.00,ftp://example.com/y.jpg,\n",
        app.base_url
    );
    let report = import(&app, &staff, &csv).await;
    let report = report.assert_status(200);
    assert_eq!(report["created"], 1);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{report}");
    assert_eq!(errors[0]["row"], 2);
    let message = errors[0]["message"].as_str().expect("message");
    assert!(
        message.contains("refused range") && message.contains("other columns were imported"),
        "{message}"
    );
    assert_eq!(errors[1]["row"], 3);
    assert!(
        errors[1]["message"]
            .as_str()
            .expect("message")
            .contains("http or https"),
        "{report}"
    );
    let lamp = staff_product(&app, &staff, "lamp-x").await;
    assert_eq!(lamp["images"], json!([]));
    app.get("/v1/admin/products/lamp-y", Some(&staff))
        .await
        .assert_problem(404, "not_found");
}

crate::backend_tests!(
    image_urls_into_private_networks_are_not_fetched,
    a_shopify_export_becomes_the_catalog,
    a_bad_row_is_reported_and_changes_nothing,
    an_export_imports_into_another_shop_as_the_same_catalog,
);
