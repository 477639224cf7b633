//! The shop's settings: anyone reads them, admins change them, and carts follow them.

use serde_json::json;

use crate::support::*;

async fn a_new_shop_sells_in_euros_with_prices_before_tax(app: TestApp) {
    let shop = app.get("/v1/shop", None).await;
    assert_eq!(
        shop.assert_status(200),
        &json!({"name": "Backroom", "default_currency": "EUR", "currencies": ["EUR"], "prices_include_tax": false,
                "low_stock_threshold": 5})
    );
}

async fn admins_change_the_shop_and_carts_follow(app: TestApp) {
    let admin = app.staff_token().await;
    let changed = app
        .patch(
            "/v1/admin/shop",
            Some(&admin),
            json!({"name": "Corner Store", "currencies": ["USD", "EUR"], "default_currency": "USD", "prices_include_tax": true}),
        )
        .await;
    let expected = json!({"name": "Corner Store", "default_currency": "USD", "currencies": ["USD", "EUR"], "prices_include_tax": true,
                          "low_stock_threshold": 5});
    assert_eq!(changed.assert_status(200), &expected);
    assert_eq!(app.get("/v1/shop", None).await.assert_status(200), &expected);

    let cart = app.post("/v1/carts", None, json!({})).await;
    assert_eq!(
        cart.assert_status(201)["currency"],
        "USD",
        "carts open in the default currency"
    );
    let cart = app.post("/v1/carts", None, json!({"currency": "EUR"})).await;
    assert_eq!(cart.assert_status(201)["currency"], "EUR");
    app.post("/v1/carts", None, json!({"currency": "GBP"}))
        .await
        .assert_field_error("currency");

    // One field alone changes only itself.
    let renamed = app
        .patch("/v1/admin/shop", Some(&admin), json!({"name": "Corner Shop"}))
        .await;
    assert_eq!(renamed.assert_status(200)["currencies"], json!(["USD", "EUR"]));
}

async fn only_admins_change_the_shop(app: TestApp) {
    let admin = app.staff_token().await;
    let (_, staff) = app.staff_member(&admin, "staff").await;
    let (customer, _) = app.customer().await;
    let body = json!({"name": "Mine Now"});
    app.patch("/v1/admin/shop", None, body.clone())
        .await
        .assert_problem(401, "unauthorized");
    app.patch("/v1/admin/shop", Some(&customer), body.clone())
        .await
        .assert_problem(403, "forbidden");
    app.patch("/v1/admin/shop", Some(&staff), body)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.get("/v1/shop", None).await.body["name"], "Backroom");
}

async fn bad_settings_are_refused_by_field_and_change_nothing(app: TestApp) {
    let admin = app.staff_token().await;
    let before = app.get("/v1/shop", None).await.body;
    for (body, field) in [
        (json!({"name": " "}), "name"),
        (json!({"currencies": []}), "currencies"),
        (json!({"currencies": ["EUR", "usd"]}), "currencies[1]"),
        (json!({"currencies": ["EUR", "EUR"]}), "currencies[1]"),
        (json!({"currencies": ["USD"]}), "currencies"),
        (json!({"default_currency": "USD"}), "default_currency"),
        (json!({"default_currency": "EURO"}), "default_currency"),
        (
            json!({"name": "Fine", "currencies": ["USD"], "default_currency": "GBP"}),
            "default_currency",
        ),
        (json!({"prices_include_tax": "yes"}), "prices_include_tax"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let response = app.patch("/v1/admin/shop", Some(&admin), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        response.assert_field_error(field);
    }
    assert_eq!(app.get("/v1/shop", None).await.body, before, "nothing was written");
}

crate::backend_tests!(
    a_new_shop_sells_in_euros_with_prices_before_tax,
    admins_change_the_shop_and_carts_follow,
    only_admins_change_the_shop,
    bad_settings_are_refused_by_field_and_change_nothing,
);
