//! Property tests: random sequences of stock adjustments, cart edits, checkouts (paid,
//! declined, failing), fulfilments, cancellations and refunds against a real server,
//! with the invariants of design.md checked in the database after every step:
//!
//! - `0 <= reserved <= on_hand`, and nothing stays reserved between requests;
//! - on hand = received + adjusted - sold (sold: units of orders not canceled);
//! - refunds never exceed captures, and the refunded amount is the sum of the refunds;
//! - an order's total is its lines' sum and what its payment captured;
//! - the provider captured exactly once per order;
//! - no request ends in a 5xx.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::support::*;

const VARIANTS: usize = 3;
const CARTS: usize = 3;
const INITIAL_STOCK: i64 = 5;
const PRICES: [i64; VARIANTS] = [1250, 399, 4000];
const CARDS: [&str; 4] = [
    "tok_visa",
    "tok_visa",
    "tok_chargeDeclinedInsufficientFunds",
    "tok_chargeDeclinedProcessingError",
];

#[derive(Debug, Clone)]
enum Op {
    Adjust { variant: usize, delta: i64 },
    Add { cart: usize, variant: usize, quantity: i64 },
    SetQuantity { cart: usize, quantity: i64 },
    Checkout { cart: usize, card: usize },
    Fulfill { order: usize },
    Cancel { order: usize },
    Refund { order: usize, amount: Option<i64> },
}

fn operation() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..VARIANTS, -4i64..6).prop_map(|(variant, delta)| Op::Adjust { variant, delta }),
        (0..CARTS, 0..VARIANTS, 1i64..4).prop_map(|(cart, variant, quantity)| Op::Add {
            cart,
            variant,
            quantity
        }),
        (0..CARTS, 0i64..4).prop_map(|(cart, quantity)| Op::SetQuantity { cart, quantity }),
        (0..CARTS, 0..CARDS.len()).prop_map(|(cart, card)| Op::Checkout { cart, card }),
        (0usize..4).prop_map(|order| Op::Fulfill { order }),
        (0usize..4).prop_map(|order| Op::Cancel { order }),
        (0usize..4, proptest::option::of(1i64..6000)).prop_map(|(order, amount)| Op::Refund { order, amount }),
    ]
}

struct World {
    staff: String,
    variants: Vec<String>,
    carts: Vec<String>,
    orders: Vec<String>,
}

async fn run_sequence(app: &TestApp, ops: &[Op]) {
    let staff = app.staff_token().await;
    let mut world = World {
        staff,
        variants: Vec::new(),
        carts: Vec::new(),
        orders: Vec::new(),
    };
    for price in PRICES {
        world
            .variants
            .push(app.published_product(&world.staff, price, INITIAL_STOCK).await.1);
    }
    for _ in 0..CARTS {
        world
            .carts
            .push(id_of(app.post("/v1/carts", None, json!({})).await.assert_status(201)));
    }
    for (step, op) in ops.iter().enumerate() {
        let response = apply(app, &mut world, op).await;
        if let Some(response) = response {
            assert!(
                response.status < 500 || response.status == 502,
                "step {step} {op:?}: {}",
                response.text
            );
        }
        check_invariants(app)
            .await
            .unwrap_or_else(|broken| panic!("after step {step} {op:?}: {broken}"));
    }
}

async fn apply(app: &TestApp, world: &mut World, op: &Op) -> Option<Response> {
    let staff = Some(world.staff.as_str());
    Some(match op {
        Op::Adjust { variant, delta } => {
            let body = json!({"delta": delta, "reason": "property test"});
            app.post(
                &format!("/v1/admin/inventory/{}/adjust", world.variants[*variant]),
                staff,
                body,
            )
            .await
        }
        Op::Add {
            cart,
            variant,
            quantity,
        } => {
            let body = json!({"variant_id": world.variants[*variant], "quantity": quantity});
            app.post(&format!("/v1/carts/{}/items", world.carts[*cart]), None, body)
                .await
        }
        Op::SetQuantity { cart, quantity } => {
            let current = app.get(&format!("/v1/carts/{}", world.carts[*cart]), None).await;
            let item = current.body["items"][0]["id"].as_str()?.to_owned();
            let body = json!({"quantity": quantity});
            app.patch(&format!("/v1/carts/{}/items/{item}", world.carts[*cart]), None, body)
                .await
        }
        Op::Checkout { cart, card } => {
            let response = app.checkout(None, &world.carts[*cart], CARDS[*card]).await;
            if response.status == 201 {
                world.orders.push(id_of(&response.body));
                world.carts[*cart] = id_of(app.post("/v1/carts", None, json!({})).await.assert_status(201));
            }
            response
        }
        Op::Fulfill { order } => {
            let id = world.orders.get(*order)?;
            app.post(&format!("/v1/admin/orders/{id}/fulfill"), staff, json!({}))
                .await
        }
        Op::Cancel { order } => {
            let id = world.orders.get(*order)?;
            app.post(&format!("/v1/admin/orders/{id}/cancel"), staff, json!({}))
                .await
        }
        Op::Refund { order, amount } => {
            let id = world.orders.get(*order)?;
            let body = amount.map_or_else(|| json!({}), |amount| json!({"amount": amount}));
            app.post(&format!("/v1/admin/orders/{id}/refund"), staff, body).await
        }
    })
}

/// Each query counts the rows that break one invariant (5 is `INITIAL_STOCK`).
const VIOLATIONS: [(&str, &str); 7] = [
    (
        "0 <= reserved <= on_hand, nothing left reserved",
        "SELECT COUNT(*) FROM variants WHERE reserved < 0 OR reserved > on_hand OR reserved <> 0",
    ),
    (
        "on hand = received + adjusted - sold",
        "SELECT COUNT(*) FROM variants v WHERE v.on_hand <> 5
            + COALESCE((SELECT SUM(a.delta) FROM inventory_adjustments a WHERE a.variant_id = v.id), 0)
            - COALESCE((SELECT SUM(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
                        WHERE i.variant_id = v.id AND o.status <> 'canceled'), 0)",
    ),
    (
        "refunds within the capture and equal to the refunds made",
        "SELECT COUNT(*) FROM payments p WHERE p.refunded_amount < 0 OR p.refunded_amount > p.amount
            OR p.refunded_amount <> COALESCE((SELECT SUM(r.amount) FROM refunds r
                                              WHERE r.payment_id = p.id AND r.status <> 'failed'), 0)",
    ),
    (
        "an order's total is its lines' sum and its payment's amount",
        "SELECT COUNT(*) FROM orders o JOIN payments p ON p.id = o.payment_id
         WHERE o.total_amount <> p.amount OR o.total_amount <> o.subtotal_amount
            OR o.subtotal_amount <> (SELECT SUM(i.line_total_amount) FROM order_items i WHERE i.order_id = o.id)",
    ),
    (
        "line totals are unit price times quantity",
        "SELECT COUNT(*) FROM order_items WHERE line_total_amount <> unit_price_amount * quantity",
    ),
    (
        "no attempt left pending",
        "SELECT COUNT(*) FROM payments WHERE status = 'pending'",
    ),
    (
        "one capture per order",
        "SELECT ABS((SELECT COUNT(*) FROM orders) - (SELECT COUNT(*) FROM test_provider_charges
                    WHERE kind = 'capture' AND outcome = 'captured'))",
    ),
];

async fn check_invariants(app: &TestApp) -> Result<(), String> {
    for (invariant, sql) in VIOLATIONS {
        let broken: i64 = match &app.store {
            backroom::store::Store::Sqlite { reader, .. } => sqlx::query_scalar(sql).fetch_one(reader).await,
            backroom::store::Store::Postgres(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .map_err(|error| format!("{invariant}: query failed: {error}"))?;
        if broken != 0 {
            return Err(format!("{invariant}: {broken} violation(s)"));
        }
    }
    Ok(())
}

fn run_properties(postgres: bool, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(operation(), 1..40), |ops| {
        runtime.block_on(async {
            let database = fresh_database(postgres)
                .await
                .expect("run only where the backend is configured");
            let app = TestApp::start(&database.url, backroom::server::ServerOptions::for_tests()).await;
            let outcome = tokio::spawn(async move { run_sequence(&app, &ops).await }).await;
            database.drop_database().await;
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
        });
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn random_operations_keep_every_invariant_on_sqlite() {
    run_properties(false, 24);
}

#[test]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
fn random_operations_keep_every_invariant_on_postgres() {
    if std::env::var_os("BACKROOM_TEST_POSTGRES_URL").is_none() {
        return crate::support::skipped("PostgreSQL leg: BACKROOM_TEST_POSTGRES_URL is not set");
    }
    run_properties(true, 12);
}
