//! The web pages over plain HTTP: what each page shows to whom, HTML errors (never JSON),
//! escaping, and the embedded assets. The browser tests (`browser.rs`) cover the clicks.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::support::{TestApp, address, encode_query, id_of, unique_email};

struct Page {
    status: u16,
    content_type: String,
    location: Option<String>,
    html: String,
}

/// GETs a page as a browser would: the session (if any) in the cookie, no redirects followed.
async fn page(app: &TestApp, path: &str, session: Option<&str>, extra_cookie: Option<&str>) -> Page {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let cookies: Vec<String> = session
        .map(|token| format!("backroom_session={token}"))
        .into_iter()
        .chain(extra_cookie.map(str::to_owned))
        .collect();
    let mut request = client.get(app.url(path));
    if !cookies.is_empty() {
        request = request.header("cookie", cookies.join("; "));
    }
    let response = request.send().await.expect("page request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Page {
        status: response.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        location: header("location"),
        html: response.text().await.expect("page body"),
    }
}

impl Page {
    #[track_caller]
    fn assert_html(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "unexpected status: {}", self.html);
        assert!(self.content_type.starts_with("text/html"), "{}", self.content_type);
        &self.html
    }
}

async fn storefront_lists_searches_and_filters_published_products(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1250, 5).await;
    let title = product["title"].as_str().expect("title");
    app.post(
        "/v1/admin/products",
        Some(&staff),
        json!({"title": "Secret draft lamp", "variants": [{"sku": "DRAFT-1", "price": {"amount": 100, "currency": "EUR"}}]}),
    )
    .await
    .assert_status(201);

    let home = page(&app, "/", None, None).await;
    let html = home.assert_html(200);
    assert!(html.contains(title) && html.contains("€12.50"), "{html}");
    assert!(!html.contains("Secret draft lamp"), "drafts are not in the shop");

    let found = page(&app, "/?q=secret", None, None).await;
    assert!(found.assert_html(200).contains("Nothing matches"));
    let slug = product["slug"].as_str().expect("slug");
    let product_page = page(&app, &format!("/products/{slug}"), None, None).await;
    let html = product_page.assert_html(200);
    assert!(html.contains("5 in stock"), "{html}");
    assert!(html.contains(&format!("data-product=\"{}\"", id_of(&product))));
}

async fn pages_escape_what_staff_type(app: TestApp) {
    let staff = app.staff_token().await;
    let created = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "<script>alert(1)</script> Mug", "slug": "xss-mug", "status": "published",
                   "variants": [{"sku": "XSS-1", "price": {"amount": 100, "currency": "EUR"}, "inventory": 1}]}),
        )
        .await;
    created.assert_status(201);
    for path in ["/", "/products/xss-mug"] {
        let html = page(&app, path, None, None).await.html;
        assert!(!html.contains("<script>alert(1)"), "{path} must escape titles");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; Mug") || html.contains("&lt;script&gt;"));
    }
}

async fn missing_and_hidden_things_are_html_pages_not_json(app: TestApp) {
    for path in ["/products/no-such-product", "/orders/ord_0000", "/assets/nothing.css"] {
        let missing = page(&app, path, None, None).await;
        assert!(missing.assert_html(404).contains("Not found"), "{path}");
    }
    // NUL cannot be compared by PostgreSQL: such input names nothing, never a 500.
    for path in ["/?q=%00", "/?category=a%00b"] {
        page(&app, path, None, None).await.assert_html(404);
    }
    let staff = app.staff_token().await;
    for path in [
        "/admin/products?q=%00",
        "/admin/customers?q=x%00",
        "/admin/customers?id=%00",
    ] {
        page(&app, path, Some(&staff), None).await.assert_html(404);
    }
    let account = page(&app, "/account", None, None).await;
    assert_eq!(account.status, 303);
    assert_eq!(account.location.as_deref(), Some("/login?next=%2Faccount"));
}

async fn unknown_addresses_are_a_page_for_browsers_and_a_problem_for_the_api(app: TestApp) {
    let ask = |path: &str, accept: &str| app.client.get(app.url(path)).header("accept", accept.to_owned()).send();
    let browser = ask("/no-such-page", "text/html,application/xhtml+xml;q=0.9")
        .await
        .expect("page");
    assert_eq!(browser.status(), 404);
    assert!(
        browser
            .headers()
            .get("content-type")
            .is_some_and(|value| value.to_str().is_ok_and(|value| value.starts_with("text/html")))
    );
    assert!(browser.text().await.expect("body").contains("Not found"));
    for (path, accept) in [
        ("/no-such-page", "application/json"),
        ("/v1/no-such-thing", "text/html"),
    ] {
        let answer = crate::support::read(ask(path, accept).await.expect("answer")).await;
        answer.assert_problem(404, "not_found");
    }
}

async fn order_pages_show_only_to_their_customer_or_with_the_guest_token(app: TestApp) {
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (other, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1999, 2, 5).await;
    let path = format!("/orders/{}", id_of(&order));

    let html = page(&app, &path, Some(&owner), None).await;
    let html = html.assert_html(200);
    assert!(html.contains(&format!("Order #{}", order["number"])) && html.contains("€39.98"));
    assert!(html.contains("Paid, being prepared"));
    assert!(html.contains(&format!("data-live=\"/v1/orders/{}/events\"", id_of(&order))));
    page(&app, &path, Some(&other), None).await.assert_html(404);
    page(&app, &path, None, None).await.assert_html(404);

    let (guest_order, _) = app.paid_order(&staff, None, 500, 1, 5).await;
    let token = guest_order["token"].as_str().expect("guest token");
    let guest_path = format!("/orders/{}", id_of(&guest_order));
    page(&app, &guest_path, None, None).await.assert_html(404);
    let with_token = page(&app, &format!("{guest_path}?token={token}"), None, None).await;
    assert!(
        with_token.assert_html(200).contains(&format!("?token={token}")),
        "the live stream carries the token"
    );

    let account = page(&app, "/account", Some(&owner), None).await;
    assert!(account.assert_html(200).contains(&path));
}

async fn the_cart_page_shows_the_cookies_cart_and_the_test_cards(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, variant_id) = app.published_product(&staff, 700, 5).await;
    let empty = page(&app, "/cart", None, None).await;
    assert!(empty.assert_html(200).contains("Your cart is empty"));

    let cart = app.cart_with(None, &variant_id, 3).await;
    let cookie = format!("backroom_cart={}", id_of(&cart));
    let full = page(&app, "/cart", None, Some(&cookie)).await;
    let html = full.assert_html(200);
    assert!(html.contains(product["title"].as_str().expect("title")) && html.contains("€21.00"));
    assert!(html.contains(&format!("POST /v1/carts/{}/checkout", id_of(&cart))));
    for token in ["tok_visa", "tok_chargeDeclined", "tok_chargeDeclinedInsufficientFunds"] {
        assert!(html.contains(&format!("value=\"{token}\"")), "{token} is offered");
    }

    // Someone else's customer cart is not shown, whatever the cookie says.
    let (owner, _) = app.customer().await;
    let owned = app.cart_with(Some(&owner), &variant_id, 1).await;
    let foreign = page(&app, "/cart", None, Some(&format!("backroom_cart={}", id_of(&owned)))).await;
    assert!(foreign.assert_html(200).contains("Your cart is empty"));
}

/// With shipping options and tax rates, the cart page offers the options that serve the
/// cart, keeps what the customer entered, and shows shipping and tax above the total; the
/// order page shows the same breakdown.
async fn the_cart_and_order_pages_show_shipping_and_tax(app: TestApp) {
    let staff = app.staff_token().await;
    let rate = json!({"name": "VAT 20 %", "country": "GB", "rate_bps": 2000});
    app.post("/v1/admin/tax-rates", Some(&staff), rate)
        .await
        .assert_status(201);
    let royal =
        json!({"name": "Royal Mail", "currency": "EUR", "countries": ["GB"], "rate": {"type": "flat", "amount": 350}});
    let royal = id_of(
        app.post("/v1/admin/shipping-options", Some(&staff), royal)
            .await
            .assert_status(201),
    );
    let (_, variant_id) = app.published_product(&staff, 1000, 5).await;
    let cart = app.cart_with(None, &variant_id, 2).await;
    let cookie = format!("backroom_cart={}", id_of(&cart));

    let before = page(&app, "/cart", None, Some(&cookie)).await;
    let html = before.assert_html(200);
    assert!(
        html.contains("No shipping option reaches this address yet"),
        "no address, no GB option"
    );
    assert!(html.contains("Recalculate totals"));

    let cart_path = format!("/v1/carts/{}", id_of(&cart));
    let details = json!({"email": "tea@example.com", "shipping_address": address(), "shipping_option_id": royal});
    app.patch(&cart_path, None, details).await.assert_status(200);
    let after = page(&app, "/cart", None, Some(&cookie)).await;
    let html = after.assert_html(200);
    assert!(
        html.contains(&format!("value=\"{royal}\" data-autosubmit=\"recalculate\" checked")),
        "the chosen option is checked"
    );
    assert!(html.contains("Royal Mail: €3.50"));
    assert!(
        html.contains("value=\"tea@example.com\"") && html.contains("value=\"SW1Y 4JH\""),
        "the form keeps what was entered"
    );
    assert!(html.contains("<option value=\"GB\" selected>"), "and the country");
    // 20.00 + 3.50 shipping + 20 % of both = 28.20.
    for shown in [
        "Subtotal",
        "€20.00",
        "Shipping: Royal Mail",
        "VAT 20 %",
        "€4.70",
        "€28.20",
    ] {
        assert!(html.contains(shown), "{shown} on the cart page");
    }

    let order = app
        .post(
            &format!("{cart_path}/checkout"),
            None,
            json!({"payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    let token = order["token"].as_str().expect("guest token");
    let order_page = page(
        &app,
        &format!("/orders/{}?token={}", id_of(&order), encode_query(token)),
        None,
        None,
    )
    .await;
    let html = order_page.assert_html(200);
    for shown in ["Shipping: Royal Mail", "VAT 20 %", "€4.70", "€28.20"] {
        assert!(html.contains(shown), "{shown} on the order page");
    }
}

/// The shipping and tax page is the staff's: it lists the options and rates with their
/// prices and percentages, and offers the forms that change them through the API.
async fn staff_see_shipping_options_and_tax_rates(app: TestApp) {
    let staff = app.staff_token().await;
    let (customer, _) = app.customer().await;
    for visitor in [None, Some(customer.as_str())] {
        let page = page(&app, "/admin/shipping", visitor, None).await;
        assert!(
            !page.assert_html(200).contains("Shipping options"),
            "not for {visitor:?}"
        );
    }
    let empty = page(&app, "/admin/shipping", Some(&staff), None).await;
    assert!(empty.assert_html(200).contains("No shipping options"));
    let option = json!({"name": "Express <b>", "currency": "EUR", "countries": ["DE", "AT"],
        "rate": {"type": "weight", "tiers": [{"up_to_grams": 1000, "amount": 700}]}, "free_over": 9900});
    app.post("/v1/admin/shipping-options", Some(&staff), option)
        .await
        .assert_status(201);
    let rate = json!({"name": "California", "country": "US", "region": "CA", "rate_bps": 725});
    app.post("/v1/admin/tax-rates", Some(&staff), rate)
        .await
        .assert_status(201);
    let listed = page(&app, "/admin/shipping", Some(&staff), None).await;
    let html = listed.assert_html(200);
    assert!(
        html.contains("Express &#60;b&#62;") && !html.contains("Express <b>"),
        "names are escaped"
    );
    for shown in [
        "DE, AT",
        "€7.00 up to 1000 g",
        "€99.00",
        "California",
        "US-CA",
        "7.25 %",
    ] {
        assert!(html.contains(shown), "{shown} on the shipping page");
    }
    for form in [
        "PATCH /v1/admin/shop",
        "POST /v1/admin/shipping-options",
        "POST /v1/admin/tax-rates",
    ] {
        assert!(html.contains(form), "{form}");
    }
}

async fn the_dashboard_needs_staff_and_sums_up_the_day(app: TestApp) {
    let anonymous = page(&app, "/admin", None, None).await;
    let html = anonymous.assert_html(200);
    assert!(html.contains("Staff sign-in"));
    assert!(
        !html.contains(r#"href="/admin/products""#) && !html.contains(r#"href="/admin/customers""#),
        "the sign-in page links no dashboard page: {html}"
    );
    let (customer, _) = app.customer().await;
    let as_customer = page(&app, "/admin/products", Some(&customer), None).await;
    assert!(
        as_customer
            .assert_html(200)
            .contains("signed in with a customer account")
    );

    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, Some(&customer), 1500, 2, 5).await;
    app.paid_order(&staff, None, 1000, 1, 5).await;
    let dashboard = page(&app, "/admin", Some(&staff), None).await;
    let html = dashboard.assert_html(200);
    assert!(html.contains("data-stat=\"orders\">2<"), "two orders today: {html}");
    assert!(html.contains("data-stat=\"revenue\">€40.00<"), "{html}");
    assert!(html.contains(&format!("/admin/orders/{}", id_of(&order))));

    // A refund lowers the day's revenue.
    app.post(
        &format!("/v1/admin/orders/{}/refund", id_of(&order)),
        Some(&staff),
        json!({"amount": 500}),
    )
    .await
    .assert_status(200);
    let html = page(&app, "/admin", Some(&staff), None).await.html;
    assert!(html.contains("data-stat=\"revenue\">€35.00<"), "{html}");

    let order_page = page(&app, &format!("/admin/orders/{}", id_of(&order)), Some(&staff), None).await;
    let html = order_page.assert_html(200);
    assert!(
        html.contains("Mark as shipped") && html.contains("at most 25.00"),
        "{html}"
    );

    let email = app.get("/v1/me", Some(&customer)).await.body["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let prefix = &email[..email.find('@').expect("@")];
    let home = page(&app, "/", Some(&customer), None).await;
    let html = home.assert_html(200);
    assert!(html.contains(">Account</a>"), "the header names the account: {html}");
    assert!(!html.contains(&format!(">{email}<")), "not by a raw email");
    let start = page(&app, "/admin/customers", Some(&staff), None).await;
    assert!(
        start
            .assert_html(200)
            .contains("Find a customer by the start of their email")
    );
    let found = page(&app, &format!("/admin/customers?q={prefix}"), Some(&staff), None).await;
    assert!(found.assert_html(200).contains(&email));
    let nobody = page(
        &app,
        &format!("/admin/customers?q={}", unique_email("nobody")),
        Some(&staff),
        None,
    )
    .await;
    assert!(nobody.assert_html(200).contains("No customer matches"));
}

async fn staff_see_every_product_and_edit_it(app: TestApp) {
    let staff = app.staff_token().await;
    let draft = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Unreleased kettle", "variants": [{"sku": "KETTLE-1", "price": {"amount": 4500, "currency": "EUR"}, "inventory": 4}]}),
        )
        .await
        .assert_status(201)
        .clone();
    let list = page(&app, "/admin/products", Some(&staff), None).await;
    assert!(list.assert_html(200).contains("Unreleased kettle"));
    let edit = page(&app, &format!("/admin/products/{}", id_of(&draft)), Some(&staff), None).await;
    let html = edit.assert_html(200);
    assert!(html.contains(&format!("PATCH /v1/admin/products/{}", id_of(&draft))));
    assert!(html.contains("4 available") && html.contains("KETTLE-1"));
    let new = page(&app, "/admin/products/new", Some(&staff), None).await;
    assert!(new.assert_html(200).contains("POST /v1/admin/products"));
}

async fn sign_in_pages_only_send_visitors_back_to_this_site(app: TestApp) {
    for next in ["//evil.example/", "https://evil.example"] {
        let html = page(&app, &format!("/login?next={next}"), None, None).await.html;
        assert!(html.contains("data-next=\"/account\""), "{next}: {html}");
    }
    // A tab, which browsers drop (making `//evil.example`), is a control character: the
    // query names no page, so there is no form to send anyone anywhere.
    let tab = page(&app, "/login?next=/%09/evil.example", None, None).await;
    assert!(!tab.assert_html(404).contains("evil.example"));
    let html = page(&app, "/register?next=/cart", None, None).await.html;
    assert!(html.contains("data-next=\"/cart\""));
    let (customer, _) = app.customer().await;
    let signed_in = page(&app, "/login?next=/cart", Some(&customer), None).await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.location.as_deref(), Some("/cart"));
}

async fn assets_are_embedded_cached_and_revalidated(app: TestApp) {
    let css = app.get("/assets/app.css", None).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let etag = css.header("etag").expect("etag").to_owned();
    let revalidated = app
        .client
        .get(app.url("/assets/app.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(revalidated.status().as_u16(), 304);
    let script = app.get("/assets/app.js", None).await;
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    // Pages load nothing from elsewhere and run no inline script (the CSP forbids it).
    let home = app.get("/", None).await;
    assert!(
        home.header("content-security-policy")
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert!(!home.text.contains("http://") && !home.text.contains("https://"));
    assert!(!home.text.contains("<script>"), "no inline scripts");
}

crate::backend_tests!(
    storefront_lists_searches_and_filters_published_products,
    pages_escape_what_staff_type,
    missing_and_hidden_things_are_html_pages_not_json,
    unknown_addresses_are_a_page_for_browsers_and_a_problem_for_the_api,
    order_pages_show_only_to_their_customer_or_with_the_guest_token,
    the_cart_page_shows_the_cookies_cart_and_the_test_cards,
    the_cart_and_order_pages_show_shipping_and_tax,
    staff_see_shipping_options_and_tax_rates,
    the_dashboard_needs_staff_and_sums_up_the_day,
    staff_see_every_product_and_edit_it,
    sign_in_pages_only_send_visitors_back_to_this_site,
    assets_are_embedded_cached_and_revalidated,
);
