//! Shipping options and tax rates as staff manage them: exact shapes, every field checked,
//! nothing half-written.

use serde_json::{Value, json};

use crate::support::*;

const OPTIONS: &str = "/v1/admin/shipping-options";
const RATES: &str = "/v1/admin/tax-rates";

async fn staff_manage_shipping_options(app: TestApp) {
    let staff = app.staff_token().await;
    let flat = json!({"name": "Standard", "currency": "EUR", "countries": ["DE", "AT"],
        "rate": {"type": "flat", "amount": 495}, "free_over": 5000});
    let created = app.post(OPTIONS, Some(&staff), flat).await.assert_status(201).clone();
    let id = id_of(&created);
    assert!(id.starts_with("shp_"), "{id}");
    assert_eq!(
        created,
        json!({"id": id, "name": "Standard", "currency": "EUR", "countries": ["DE", "AT"],
            "rate": {"type": "flat", "amount": eur(495)}, "free_over": eur(5000)})
    );
    let path = format!("{OPTIONS}/{id}");
    assert_eq!(app.get(&path, Some(&staff)).await.assert_status(200), &created);

    let by_weight = json!({"name": "Freight", "currency": "EUR",
        "rate": {"type": "weight", "tiers": [{"up_to_grams": 1000, "amount": 700}, {"up_to_grams": 20000, "amount": 2500}]}});
    let freight = app
        .post(OPTIONS, Some(&staff), by_weight)
        .await
        .assert_status(201)
        .clone();
    assert_eq!(freight["countries"], json!([]), "no countries: every country");
    assert_eq!(freight["free_over"], Value::Null);
    assert_eq!(
        freight["rate"],
        json!({"type": "weight", "tiers": [{"up_to_grams": 1000, "amount": eur(700)}, {"up_to_grams": 20000, "amount": eur(2500)}]})
    );

    let list = app.get(OPTIONS, Some(&staff)).await.assert_status(200).clone();
    assert_eq!(ids_in(&list), vec![id_of(&freight), id.clone()], "newest first");

    let changed = app
        .patch(
            &path,
            Some(&staff),
            json!({"name": "Standard (EU)", "free_over": null, "countries": []}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_eq!(changed["name"], "Standard (EU)");
    assert_eq!(changed["free_over"], Value::Null, "null clears the threshold");
    assert_eq!(changed["countries"], json!([]));
    assert_eq!(changed["rate"], created["rate"], "what the patch left out stays");

    app.delete(&path, Some(&staff)).await.assert_status(204);
    app.get(&path, Some(&staff)).await.assert_problem(404, "not_found");
    app.delete(&path, Some(&staff)).await.assert_problem(404, "not_found");
    app.patch(&path, Some(&staff), json!({"name": "Ghost"}))
        .await
        .assert_problem(404, "not_found");
}

async fn bad_shipping_options_are_refused_by_field(app: TestApp) {
    let staff = app.staff_token().await;
    let valid = json!({"name": "Standard", "currency": "EUR", "rate": {"type": "flat", "amount": 495}});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let tiers = |tiers: Value| json!({"type": "weight", "tiers": tiers});
    for (body, field) in [
        (with("name", json!("  ")), "name"),
        (with("currency", json!("USD")), "currency"),
        (with("currency", json!("eur")), "currency"),
        (with("countries", json!(["DE", "XX"])), "countries[1]"),
        (with("countries", json!(["de"])), "countries[0]"),
        (with("countries", json!(["DE", "DE"])), "countries[1]"),
        (with("rate", json!({"type": "flat", "amount": -1})), "rate.amount"),
        (
            with("rate", json!({"type": "flat", "amount": 9_223_372_036_854_775_807_i64})),
            "rate.amount",
        ),
        (with("rate", json!({"type": "flat"})), "rate.amount"),
        (with("rate", json!({"type": "per_item", "amount": 1})), "rate.type"),
        // A variant's index is not its name (serde would take 0 for the first).
        (with("rate", json!({"type": 0, "amount": 1})), "rate.type"),
        (with("rate", tiers(json!([]))), "rate.tiers"),
        (
            with(
                "rate",
                tiers(json!([{"up_to_grams": 2000, "amount": 1}, {"up_to_grams": 1000, "amount": 2}])),
            ),
            "rate.tiers[1].up_to_grams",
        ),
        (
            with("rate", tiers(json!([{"up_to_grams": 0, "amount": 1}]))),
            "rate.tiers[0].up_to_grams",
        ),
        (
            with("rate", tiers(json!([{"up_to_grams": 10, "amount": -5}]))),
            "rate.tiers[0].amount",
        ),
        (with("free_over", json!(-1)), "free_over"),
        (with("colour", json!("red")), "colour"),
    ] {
        let response = app.post(OPTIONS, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        assert!(
            response.error_fields().iter().any(|f| f == field),
            "{body}: expected an error on `{field}`, got {}",
            response.text
        );
    }
    let missing = app
        .post(OPTIONS, Some(&staff), json!({"name": "No rate", "currency": "EUR"}))
        .await;
    missing.assert_field_error("rate");
    let list = app.get(OPTIONS, Some(&staff)).await.assert_status(200).clone();
    assert_eq!(list["data"], json!([]), "nothing was written");

    // A change is checked the same way, and a refused one changes nothing.
    let created = app.post(OPTIONS, Some(&staff), valid).await.assert_status(201).clone();
    let path = format!("{OPTIONS}/{}", id_of(&created));
    app.patch(&path, Some(&staff), json!({"name": "Renamed", "countries": ["ZZ"]}))
        .await
        .assert_field_error("countries[0]");
    assert_eq!(app.get(&path, Some(&staff)).await.body, created);

    // A currency becomes usable once the shop sells in it.
    app.patch("/v1/admin/shop", Some(&staff), json!({"currencies": ["EUR", "USD"]}))
        .await
        .assert_status(200);
    let usd =
        json!({"name": "US Mail", "currency": "USD", "countries": ["US"], "rate": {"type": "flat", "amount": 800}});
    let usd = app.post(OPTIONS, Some(&staff), usd).await.assert_status(201).clone();
    assert_eq!(usd["rate"]["amount"], json!({"amount": 800, "currency": "USD"}));
}

async fn staff_manage_tax_rates(app: TestApp) {
    let staff = app.staff_token().await;
    let created = app
        .post(
            RATES,
            Some(&staff),
            json!({"name": "MwSt", "country": "DE", "rate_bps": 1900}),
        )
        .await
        .assert_status(201)
        .clone();
    let id = id_of(&created);
    assert!(id.starts_with("txr_"), "{id}");
    assert_eq!(
        created,
        json!({"id": id, "name": "MwSt", "country": "DE", "region": null, "tax_class": "standard", "rate_bps": 1900})
    );
    let california = app
        .post(
            RATES,
            Some(&staff),
            json!({"name": "California", "country": "US", "region": "CA", "tax_class": "standard", "rate_bps": 725}),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(california["region"], "US-CA", "a region is kept as its ISO 3166-2 code");

    let path = format!("{RATES}/{id}");
    let reduced = app
        .patch(&path, Some(&staff), json!({"tax_class": "reduced", "rate_bps": 700}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        (reduced["tax_class"].as_str(), reduced["rate_bps"].as_i64()),
        (Some("reduced"), Some(700))
    );
    assert_eq!(app.get(&path, Some(&staff)).await.assert_status(200), &reduced);
    let list = app.get(RATES, Some(&staff)).await.assert_status(200).clone();
    assert_eq!(ids_in(&list), vec![id_of(&california), id.clone()]);

    let california_path = format!("{RATES}/{}", id_of(&california));
    let country_wide = app
        .patch(&california_path, Some(&staff), json!({"region": null}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(country_wide["region"], Value::Null);

    app.delete(&path, Some(&staff)).await.assert_status(204);
    app.get(&path, Some(&staff)).await.assert_problem(404, "not_found");
}

async fn bad_tax_rates_are_refused_by_field(app: TestApp) {
    let staff = app.staff_token().await;
    for (body, field) in [
        (json!({"name": "", "country": "DE", "rate_bps": 1900}), "name"),
        (json!({"name": "VAT", "country": "XX", "rate_bps": 1900}), "country"),
        (json!({"name": "VAT", "country": "de", "rate_bps": 1900}), "country"),
        (json!({"name": "VAT", "country": "DE", "rate_bps": 10001}), "rate_bps"),
        (json!({"name": "VAT", "country": "DE", "rate_bps": -1}), "rate_bps"),
        (
            json!({"name": "VAT", "country": "US", "region": "DE-BY", "rate_bps": 1}),
            "region",
        ),
        (
            json!({"name": "VAT", "country": "US", "region": "US-", "rate_bps": 1}),
            "region",
        ),
        (
            json!({"name": "VAT", "country": "DE", "tax_class": "Reduced Rate", "rate_bps": 700}),
            "tax_class",
        ),
        (json!({"name": "VAT", "country": "DE"}), "rate_bps"),
        (json!({"name": "VAT", "country": "DE", "rate_bps": 1.5}), "rate_bps"),
    ] {
        let response = app.post(RATES, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        assert!(
            response.error_fields().iter().any(|f| f == field),
            "{body}: expected an error on `{field}`, got {}",
            response.text
        );
    }
    assert_eq!(
        app.get(RATES, Some(&staff)).await.body["data"],
        json!([]),
        "nothing was written"
    );
    let created = app
        .post(
            RATES,
            Some(&staff),
            json!({"name": "Sales tax", "country": "US", "region": "US-NY", "rate_bps": 400}),
        )
        .await
        .assert_status(201)
        .clone();
    // Moving the rate to another country leaves its region behind: refused as a whole.
    let path = format!("{RATES}/{}", id_of(&created));
    app.patch(&path, Some(&staff), json!({"country": "CA"}))
        .await
        .assert_field_error("region");
    assert_eq!(app.get(&path, Some(&staff)).await.body, created);
}

crate::backend_tests!(
    staff_manage_shipping_options,
    bad_shipping_options_are_refused_by_field,
    staff_manage_tax_rates,
    bad_tax_rates_are_refused_by_field,
);
