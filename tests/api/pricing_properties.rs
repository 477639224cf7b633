//! Property tests of pricing over HTTP: random shops (tax included or not, tax rates by
//! country, region and class, a flat or weight-tiered shipping option with or without a
//! free-over threshold) and random carts, with or without a discount code (a percentage
//! or a fixed amount, for every line or the first line's product), against a real server.
//! For each:
//!
//! - the cart shows what the contract's arithmetic gives, worked out here independently
//!   (discounts first: percentages half up per line, fixed amounts spread by line totals;
//!   then tax per line on what is left, half up; the region's rate wins over the country's;
//!   shipping taxed at the standard rate, free over a threshold of the discounted subtotal);
//! - `total = subtotal - discount_total + shipping_total + (exclusive ? tax_total : 0)`,
//!   every amount is at least 0, and the tax lines add up to `tax_total`;
//! - the order keeps exactly the cart's lines, shipping, tax lines and totals, and the
//!   payment captured exactly its total.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::*;

#[derive(Debug, Clone)]
struct Rate {
    country: &'static str,
    region: Option<&'static str>,
    class: &'static str,
    bps: i64,
}

#[derive(Debug, Clone)]
enum Shipping {
    Flat(i64),
    /// Tiers as `(up_to_grams, amount)`, in order; the last carries any cart.
    Weight(Vec<(i64, i64)>),
}

#[derive(Debug, Clone)]
struct Line {
    price: i64,
    weight_grams: i64,
    class: &'static str,
    quantity: i64,
}

#[derive(Debug, Clone, Copy)]
enum Off {
    Percentage(i64),
    Fixed(i64),
}

#[derive(Debug, Clone)]
struct Discount {
    off: Off,
    /// Only the first line's product; else every line.
    first_line_only: bool,
}

#[derive(Debug, Clone)]
struct Case {
    discount: Option<Discount>,
    prices_include_tax: bool,
    rates: Vec<Rate>,
    shipping: Shipping,
    free_over: Option<i64>,
    lines: Vec<Line>,
    /// `(country, region)` of the shipping address.
    destination: (&'static str, Option<&'static str>),
}

const CLASSES: [&str; 2] = ["standard", "reduced"];

/// At most one rate per (country, region, class), as a shop would define them.
fn rates() -> impl Strategy<Value = Vec<Rate>> {
    let slots: Vec<(&'static str, Option<&'static str>, &'static str)> =
        [("DE", None), ("US", None), ("US", Some("US-CA")), ("US", Some("NY"))]
            .into_iter()
            .flat_map(|(country, region)| CLASSES.map(|class| (country, region, class)))
            .collect();
    proptest::collection::vec(proptest::option::of(0i64..=3000), slots.len()).prop_map(move |chosen| {
        slots
            .iter()
            .zip(chosen)
            .filter_map(|(&(country, region, class), bps)| {
                bps.map(|bps| Rate {
                    country,
                    region,
                    class,
                    bps,
                })
            })
            .collect()
    })
}

fn shipping() -> impl Strategy<Value = Shipping> {
    prop_oneof![
        (0i64..3000).prop_map(Shipping::Flat),
        proptest::collection::vec((1i64..5000, 0i64..3000), 0..3).prop_map(|mut tiers| {
            tiers.sort_by_key(|&(up_to, _)| up_to);
            tiers.dedup_by_key(|&mut (up_to, _)| up_to);
            tiers.push((1_000_000, 4000));
            Shipping::Weight(tiers)
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let line =
        (1i64..20_000, 0i64..3000, 0..CLASSES.len(), 1i64..5).prop_map(|(price, weight_grams, class, quantity)| Line {
            price,
            weight_grams,
            class: CLASSES[class],
            quantity,
        });
    (
        any::<bool>(),
        rates(),
        shipping(),
        proptest::option::of(0i64..40_000),
        proptest::collection::vec(line, 1..4),
        prop_oneof![
            Just(("DE", None)),
            Just(("US", Some("CA"))),
            Just(("US", Some("NY"))),
            Just(("US", Some("TX")))
        ],
        proptest::option::of((
            prop_oneof![
                (1i64..=10_000).prop_map(Off::Percentage),
                (0i64..50_000).prop_map(Off::Fixed)
            ],
            any::<bool>(),
        )),
    )
        .prop_map(
            |(prices_include_tax, rates, shipping, free_over, lines, destination, discount)| Case {
                discount: discount.map(|(off, first_line_only)| Discount { off, first_line_only }),
                prices_include_tax,
                rates,
                shipping,
                free_over,
                lines,
                destination,
            },
        )
}

fn rate_name(rate: &Rate) -> String {
    format!("{} {} {}", rate.country, rate.region.unwrap_or("all"), rate.class)
}

/// The rate for `class` at the case's destination: the region's, else the country's.
fn rate_for<'a>(case: &'a Case, class: &str) -> Option<&'a Rate> {
    let (country, region) = case.destination;
    let in_region = |rate: &&Rate| {
        rate.region
            .is_some_and(|wanted| region.is_some_and(|given| wanted == given || wanted == format!("{country}-{given}")))
    };
    let candidates = || {
        case.rates
            .iter()
            .filter(move |rate| rate.country == country && rate.class == class)
    };
    candidates()
        .find(in_region)
        .or_else(|| candidates().find(|rate| rate.region.is_none()))
}

/// The contract's tax on `amount` at `bps`, rounded half up.
fn tax(amount: i64, bps: i64, included: bool) -> i64 {
    if included {
        let net = (2 * amount * 10_000 + (10_000 + bps)) / (2 * (10_000 + bps));
        amount - net
    } else {
        (2 * amount * bps + 10_000) / 20_000
    }
}

/// What the discount takes off each line.
fn line_discounts(case: &Case) -> Vec<i64> {
    let totals: Vec<i64> = case.lines.iter().map(|line| line.price * line.quantity).collect();
    let Some(discount) = &case.discount else {
        return vec![0; totals.len()];
    };
    let eligible: Vec<usize> = (0..totals.len())
        .filter(|&index| index == 0 || !discount.first_line_only)
        .collect();
    let mut taken = vec![0; totals.len()];
    match discount.off {
        Off::Percentage(bps) => {
            for &index in &eligible {
                taken[index] = (2 * totals[index] * bps + 10_000) / 20_000;
            }
        }
        Off::Fixed(amount) => {
            let pool: i64 = eligible.iter().map(|&index| totals[index]).sum();
            let applied = amount.min(pool);
            for &index in &eligible {
                taken[index] = applied * totals[index] / pool;
            }
            let mut left = applied - taken.iter().sum::<i64>();
            let mut largest_first = eligible.clone();
            largest_first.sort_by(|&a, &b| totals[b].cmp(&totals[a]));
            for index in largest_first {
                if left > 0 && taken[index] < totals[index] {
                    taken[index] += 1;
                    left -= 1;
                }
            }
        }
    }
    taken
}

/// What the cart must show: `(line taxes, shipping, tax lines by name, totals)`.
struct Expected {
    line_discounts: Vec<i64>,
    line_taxes: Vec<i64>,
    shipping: i64,
    tax_lines: BTreeMap<String, (i64, i64)>,
    subtotal: i64,
    tax_total: i64,
    total: i64,
}

fn expected(case: &Case) -> Expected {
    let mut tax_lines: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    // A rate is listed once it applies to an amount above 0, even when its tax is 0.
    let mut add_tax = |rate: Option<&Rate>, amount: i64| -> i64 {
        let Some(rate) = rate.filter(|_| amount > 0) else {
            return 0;
        };
        let taxed = tax(amount, rate.bps, case.prices_include_tax);
        tax_lines.entry(rate_name(rate)).or_insert((rate.bps, 0)).1 += taxed;
        taxed
    };
    let line_discounts = line_discounts(case);
    let line_taxes: Vec<i64> = case
        .lines
        .iter()
        .zip(&line_discounts)
        .map(|(line, taken)| add_tax(rate_for(case, line.class), line.price * line.quantity - taken))
        .collect();
    let subtotal: i64 = case.lines.iter().map(|line| line.price * line.quantity).sum();
    let discount_total: i64 = line_discounts.iter().sum();
    let weight: i64 = case.lines.iter().map(|line| line.weight_grams * line.quantity).sum();
    let cost = match &case.shipping {
        Shipping::Flat(amount) => *amount,
        Shipping::Weight(tiers) => tiers
            .iter()
            .find(|&&(up_to, _)| up_to >= weight)
            .map(|&(_, amount)| amount)
            .expect("the last tier carries any cart"),
    };
    let shipping = if case
        .free_over
        .is_some_and(|threshold| subtotal - discount_total >= threshold)
    {
        0
    } else {
        cost
    };
    add_tax(rate_for(case, "standard"), shipping);
    let tax_total: i64 = tax_lines.values().map(|(_, amount)| amount).sum();
    let total = subtotal - discount_total + shipping + if case.prices_include_tax { 0 } else { tax_total };
    Expected {
        line_discounts,
        line_taxes,
        shipping,
        tax_lines,
        subtotal,
        tax_total,
        total,
    }
}

/// Sets the shop up as `case` says, in place of the previous case's rates and option.
async fn set_up_shop(app: &TestApp, staff: &str, case: &Case) -> String {
    app.patch(
        "/v1/admin/shop",
        Some(staff),
        json!({"prices_include_tax": case.prices_include_tax}),
    )
    .await
    .assert_status(200);
    for path in ["/v1/admin/tax-rates", "/v1/admin/shipping-options"] {
        let existing = app.get(&format!("{path}?limit=100"), Some(staff)).await;
        for id in ids_in(existing.assert_status(200)) {
            app.delete(&format!("{path}/{id}"), Some(staff))
                .await
                .assert_status(204);
        }
    }
    for rate in &case.rates {
        let body = json!({"name": rate_name(rate), "country": rate.country, "region": rate.region,
            "tax_class": rate.class, "rate_bps": rate.bps});
        app.post("/v1/admin/tax-rates", Some(staff), body)
            .await
            .assert_status(201);
    }
    let rate = match &case.shipping {
        Shipping::Flat(amount) => json!({"type": "flat", "amount": amount}),
        Shipping::Weight(tiers) => json!({"type": "weight", "tiers": tiers
            .iter()
            .map(|(up_to_grams, amount)| json!({"up_to_grams": up_to_grams, "amount": amount}))
            .collect::<Vec<_>>()}),
    };
    let option = json!({"name": "Parcel", "currency": "EUR", "countries": [], "rate": rate,
        "free_over": case.free_over});
    id_of(
        app.post("/v1/admin/shipping-options", Some(staff), option)
            .await
            .assert_status(201),
    )
}

/// A cart holding the case's lines, shipping to its destination with `option_id`.
async fn cart_for(app: &TestApp, staff: &str, case: &Case, option_id: &str) -> Value {
    let cart = id_of(app.post("/v1/carts", None, json!({})).await.assert_status(201));
    let mut first_product = None;
    for line in &case.lines {
        let product = json!({"title": format!("Item {}", unique_sku()), "status": "published",
            "tax_class": line.class, "variants": [{"sku": unique_sku(), "price": eur(line.price),
            "weight_grams": line.weight_grams, "inventory": line.quantity}]});
        let created = app.post("/v1/admin/products", Some(staff), product).await;
        let variant = id_of(&created.assert_status(201)["variants"][0]);
        first_product.get_or_insert_with(|| id_of(&created.body));
        app.post(
            &format!("/v1/carts/{cart}/items"),
            None,
            json!({"variant_id": variant, "quantity": line.quantity}),
        )
        .await
        .assert_status(200);
    }
    if let Some(discount) = &case.discount {
        let code = format!("P{}", unique_sku().replace('-', ""));
        let mut body = match discount.off {
            Off::Percentage(bps) => json!({"code": code, "kind": "percentage", "percentage_bps": bps}),
            Off::Fixed(amount) => json!({"code": code, "kind": "fixed_amount", "amount": amount, "currency": "EUR"}),
        };
        if discount.first_line_only {
            body["product_ids"] = json!([first_product]);
        }
        app.post("/v1/admin/discounts", Some(staff), body)
            .await
            .assert_status(201);
        app.post(&format!("/v1/carts/{cart}/discount-codes"), None, json!({"code": code}))
            .await
            .assert_status(200);
    }
    let (country, region) = case.destination;
    let address = json!({"name": "Ada Lovelace", "line1": "1 Main Street", "city": "Springfield",
        "postal_code": "12345", "country": country, "region": region});
    let details = json!({"email": "buyer@example.com", "shipping_address": address, "shipping_option_id": option_id});
    app.patch(&format!("/v1/carts/{cart}"), None, details)
        .await
        .assert_status(200)
        .clone()
}

fn amount(value: &Value) -> i64 {
    assert_eq!(value["currency"], "EUR", "{value}");
    value["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("an amount in {value}"))
}

fn tax_lines(priced: &Value) -> BTreeMap<String, (i64, i64)> {
    priced["tax_lines"]
        .as_array()
        .expect("tax_lines")
        .iter()
        .map(|line| {
            let name = line["name"].as_str().expect("name").to_owned();
            (
                name,
                (line["rate_bps"].as_i64().expect("rate_bps"), amount(&line["amount"])),
            )
        })
        .collect()
}

fn assert_cart_is_priced_as_the_contract_says(case: &Case, cart: &Value) {
    let want = expected(case);
    let lines = cart["items"].as_array().expect("items");
    let discounts: Vec<i64> = lines.iter().map(|line| amount(&line["discount_total"])).collect();
    assert_eq!(discounts, want.line_discounts, "line discounts of {cart}");
    let taxes: Vec<i64> = lines.iter().map(|line| amount(&line["tax_total"])).collect();
    assert_eq!(taxes, want.line_taxes, "line taxes of {cart}");
    let applied: i64 = cart["discounts"]
        .as_array()
        .expect("discounts")
        .iter()
        .map(|discount| amount(&discount["amount"]))
        .sum();
    assert_eq!(
        applied,
        want.line_discounts.iter().sum::<i64>(),
        "the discount's amount in {cart}"
    );
    assert_eq!(amount(&cart["shipping_total"]), want.shipping, "shipping of {cart}");
    assert_eq!(tax_lines(cart), want.tax_lines, "tax lines of {cart}");
    let (subtotal, discounts, shipping, taxed, total) = (
        amount(&cart["subtotal"]),
        amount(&cart["discount_total"]),
        amount(&cart["shipping_total"]),
        amount(&cart["tax_total"]),
        amount(&cart["total"]),
    );
    assert_eq!(
        (subtotal, taxed, total),
        (want.subtotal, want.tax_total, want.total),
        "{cart}"
    );
    let on_top = if case.prices_include_tax { 0 } else { taxed };
    assert_eq!(total, subtotal - discounts + shipping + on_top, "{cart}");
    assert!(
        [subtotal, discounts, shipping, taxed, total].iter().all(|a| *a >= 0),
        "{cart}"
    );
    let line_tax: i64 = taxes.iter().sum();
    assert!(line_tax <= taxed, "the rest of the tax is shipping's: {cart}");
    if shipping == 0 {
        assert_eq!(line_tax, taxed, "{cart}");
    }
}

/// The order's lines without their ids (an order's lines have their own).
fn lines_without_ids(priced: &Value) -> Vec<Value> {
    priced["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| {
            let mut line = line.clone();
            line.as_object_mut().expect("a line object").remove("id");
            line
        })
        .collect()
}

async fn check_case(app: &TestApp, staff: &str, case: &Case) {
    let option_id = set_up_shop(app, staff, case).await;
    let cart = cart_for(app, staff, case, &option_id).await;
    assert_cart_is_priced_as_the_contract_says(case, &cart);

    let captured_before = app.captures().await;
    let order = app
        .post(
            &format!("/v1/carts/{}/checkout", id_of(&cart)),
            None,
            json!({"payment": {"token": "tok_visa"}}),
        )
        .await
        .assert_status(201)
        .clone();
    for field in [
        "subtotal",
        "discount_total",
        "shipping_total",
        "tax_total",
        "total",
        "tax_lines",
        "shipping_option",
        "discounts",
        "currency",
    ] {
        assert_eq!(order[field], cart[field], "the order keeps the cart's {field}");
    }
    assert_eq!(lines_without_ids(&order), lines_without_ids(&cart));
    assert_eq!(order["payment"]["amount"], cart["total"], "captured exactly the total");
    assert_eq!(app.captures().await, captured_before + 1);
}

fn run_pricing_properties(postgres: bool, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(database) = runtime.block_on(fresh_database(postgres)) else {
        return;
    };
    // One server for the whole run: each case sets the shop up afresh.
    let (app, staff) = runtime.block_on(async {
        let app = TestApp::start(&database.url, backroom::server::ServerOptions::for_tests()).await;
        let staff = app.staff_token().await;
        (app, staff)
    });
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&case(), |case| {
        runtime.block_on(check_case(&app, &staff, &case));
        Ok(())
    });
    runtime.block_on(database.drop_database());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn orders_are_priced_as_the_contract_says_and_as_their_carts_showed_on_sqlite() {
    run_pricing_properties(false, 32);
}

#[test]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
fn orders_are_priced_as_the_contract_says_and_as_their_carts_showed_on_postgres() {
    run_pricing_properties(true, 16);
}
