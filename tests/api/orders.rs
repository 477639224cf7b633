//! Orders: who may read them, the live event stream, and the staff state machine (fulfil, cancel, refund).

use serde_json::{Value, json};

use crate::support::*;

fn admin_order_path(order: &Value, action: &str) -> String {
    format!("/v1/admin/orders/{}/{action}", id_of(order))
}

async fn customer_lists_only_own_orders_newest_first(app: TestApp) {
    let staff = app.staff_token().await;
    let (alice, _) = app.customer().await;
    let (bob, _) = app.customer().await;
    let (first, _) = app.paid_order(&staff, Some(&alice), 1000, 1, 5).await;
    let (bobs, _) = app.paid_order(&staff, Some(&bob), 1000, 1, 5).await;
    let (second, _) = app.paid_order(&staff, Some(&alice), 2000, 1, 5).await;

    let list = app.get("/v1/orders", Some(&alice)).await.assert_status(200).clone();
    assert!(list.get("next_cursor").is_some(), "lists carry `next_cursor`: {list}");
    assert_eq!(ids_in(&list), vec![id_of(&second), id_of(&first)]);
    let list = app.get("/v1/orders", Some(&bob)).await.assert_status(200).clone();
    assert_eq!(ids_in(&list), vec![id_of(&bobs)]);
}

async fn listing_orders_requires_a_token(app: TestApp) {
    app.get("/v1/orders", None).await.assert_problem(401, "unauthorized");
}

async fn order_is_visible_to_its_customer_only(app: TestApp) {
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (stranger, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1000, 2, 5).await;
    let path = format!("/v1/orders/{}", id_of(&order));

    let fetched = app.get(&path, Some(&owner)).await;
    let body = fetched.assert_status(200);
    assert_eq!(body["id"], order["id"]);
    assert_eq!(body["status"], "paid");
    assert_eq!(body["total"], order["total"]);
    app.get(&path, Some(&stranger)).await.assert_problem(404, "not_found");
    app.get(&path, None).await.assert_problem(404, "not_found");
    app.get("/v1/orders/ord_doesnotexist", Some(&owner))
        .await
        .assert_problem(404, "not_found");
}

async fn guest_order_is_read_with_its_token(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, None, 1000, 1, 5).await;
    let token = order["token"].as_str().expect("guest order token");
    let path = format!("/v1/orders/{}", id_of(&order));

    let fetched = app.get(&format!("{path}?token={}", encode_query(token)), None).await;
    assert_eq!(fetched.assert_status(200)["id"], order["id"]);
    app.get(&path, None).await.assert_problem(404, "not_found");
    app.get(&format!("{path}?token=wrong-{}", encode_query(token)), None)
        .await
        .assert_problem(404, "not_found");
    let (customer, _) = app.customer().await;
    app.get(&path, Some(&customer)).await.assert_problem(404, "not_found");
}

/// Asserts an `order.updated` event with an id, and returns its order.
#[track_caller]
fn order_update(event: &SseEvent) -> Value {
    assert_eq!(event.event.as_deref(), Some("order.updated"), "{event:?}");
    assert!(
        event.id.as_deref().is_some_and(|id| !id.is_empty()),
        "events carry an id: {event:?}"
    );
    serde_json::from_str(&event.data).unwrap_or_else(|error| panic!("data is the order JSON ({error}): {event:?}"))
}

async fn order_events_stream_the_order_then_its_fulfilment(app: TestApp) {
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1000, 1, 5).await;
    let mut events = app
        .events(&format!("/v1/orders/{}/events", id_of(&order)), Some(&owner))
        .await;

    let first = events.next_event().await;
    let current = order_update(&first);
    assert_eq!(current["id"], order["id"]);
    assert_eq!(current["status"], "paid");

    app.post(
        &admin_order_path(&order, "fulfill"),
        Some(&staff),
        json!({"tracking_number": "TRACK1"}),
    )
    .await
    .assert_status(200);
    let fulfilled = loop {
        let event = events.next_event().await;
        let update = order_update(&event);
        assert_eq!(update["id"], order["id"]);
        if update["status"] == "fulfilled" {
            assert_ne!(event.id, first.id, "each event has its own id");
            break update;
        }
    };
    assert_eq!(fulfilled["tracking_number"], "TRACK1");
}

/// Several processes on one PostgreSQL: a change made through one server reaches the live
/// streams of another (LISTEN/NOTIFY). One SQLite file serves one process, so the test
/// checks the same through a single server there.
async fn order_events_reach_streams_on_another_server(app: TestApp) {
    let postgres = matches!(app.store, backroom::store::Store::Postgres(..));
    let other_server = if postgres { Some(app.start_peer().await) } else { None };
    let peer: &Shop = other_server.as_deref().unwrap_or(&app);
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1500, 1, 5).await;
    let mut customer_stream = peer
        .events(&format!("/v1/orders/{}/events", id_of(&order)), Some(&owner))
        .await;
    let mut staff_stream = peer.events("/v1/admin/events", Some(&staff)).await;
    assert_eq!(order_update(&customer_stream.next_event().await)["status"], "paid");

    app.post(&admin_order_path(&order, "fulfill"), Some(&staff), json!({}))
        .await
        .assert_status(200);
    loop {
        let update = order_update(&customer_stream.next_event().await);
        if update["status"] == "fulfilled" {
            break;
        }
    }
    // A stream opened just after the checkout may begin with its events (on PostgreSQL, one
    // not yet readable when the stream opened is sent first).
    let announced = loop {
        let next = staff_stream.next_event().await;
        if next.event.as_deref() == Some("order.fulfilled") {
            break next;
        }
    };
    let event: Value = serde_json::from_str(&announced.data).expect("event JSON");
    assert_eq!(
        announced.id.as_deref(),
        event["id"].as_str(),
        "the SSE id is the event's id"
    );
    assert_eq!(event["type"], "order.fulfilled");
    assert_eq!(event["data"]["id"], order["id"], "the event's data is the order");
    assert_eq!(event["data"]["status"], "fulfilled", "as it was at the event");
}

/// A new staff stream starts after the events committed when it opened, even while an
/// older transaction is still running: on PostgreSQL its start cannot be a position alone
/// (events become readable only once every older transaction has ended). SQLite has one
/// writer and nothing to hold open; the test runs the same there.
async fn a_new_staff_stream_skips_events_committed_before_it_opened(app: TestApp) {
    use sqlx::Connection;
    let staff = app.staff_token().await;
    let older = match app.store {
        backroom::store::Store::Postgres(..) => {
            let mut older = sqlx::PgConnection::connect(&app.database_url).await.expect("connect");
            sqlx::raw_sql("BEGIN; SELECT pg_current_xact_id()")
                .execute(&mut older)
                .await
                .expect("a transaction with an id");
            Some(older)
        }
        _ => None,
    };
    let (order, _) = app.paid_order(&staff, None, 1000, 1, 5).await;
    let mut stream = app.events("/v1/admin/events", Some(&staff)).await;
    if let Some(older) = older {
        older.close().await.expect("the older transaction ends");
    }
    app.post(&admin_order_path(&order, "fulfill"), Some(&staff), json!({}))
        .await
        .assert_status(200);
    let first = stream.next_event().await;
    assert_eq!(
        first.event.as_deref(),
        Some("order.fulfilled"),
        "the stream's first event is the first after it opened"
    );
}

async fn guest_order_events_open_with_the_order_token(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, None, 1000, 1, 5).await;
    let token = order["token"].as_str().expect("guest order token");
    let path = format!("/v1/orders/{}/events", id_of(&order));

    let mut events = app.events(&format!("{path}?token={}", encode_query(token)), None).await;
    let current = order_update(&events.next_event().await);
    assert_eq!(current["id"], order["id"]);
    drop(events);

    let refused = read(app.open_stream(&path, None).await).await;
    refused.assert_problem(404, "not_found");
}

async fn order_events_are_hidden_from_other_customers(app: TestApp) {
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (stranger, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1000, 1, 5).await;
    let path = format!("/v1/orders/{}/events", id_of(&order));
    let refused = read(app.open_stream(&path, Some(&stranger)).await).await;
    refused.assert_problem(404, "not_found");
}

async fn staff_see_every_customers_orders_and_filter_by_status(app: TestApp) {
    let staff = app.staff_token().await;
    let (alice, _) = app.customer().await;
    let (bob, _) = app.customer().await;
    let (alices, _) = app.paid_order(&staff, Some(&alice), 1000, 1, 5).await;
    let (bobs, _) = app.paid_order(&staff, Some(&bob), 1000, 1, 5).await;
    let (guests, _) = app.paid_order(&staff, None, 1000, 1, 5).await;

    let all = app
        .get("/v1/admin/orders", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(
        ids_in(&all),
        vec![id_of(&guests), id_of(&bobs), id_of(&alices)],
        "newest first"
    );

    app.post(&admin_order_path(&bobs, "fulfill"), Some(&staff), json!({}))
        .await
        .assert_status(200);
    let paid = app
        .get("/v1/admin/orders?status=paid", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(ids_in(&paid), vec![id_of(&guests), id_of(&alices)]);
    let fulfilled = app
        .get("/v1/admin/orders?status=fulfilled", Some(&staff))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(ids_in(&fulfilled), vec![id_of(&bobs)]);

    let one = app
        .get(&format!("/v1/admin/orders/{}", id_of(&alices)), Some(&staff))
        .await;
    let body = one.assert_status(200);
    assert_eq!(body["id"], alices["id"]);
    assert_eq!(body["email"], alices["email"]);
    app.get("/v1/admin/orders/ord_doesnotexist", Some(&staff))
        .await
        .assert_problem(404, "not_found");
}

async fn fulfilment_records_tracking_and_is_final(app: TestApp) {
    let staff = app.staff_token().await;
    let (owner, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&owner), 1000, 1, 5).await;

    let fulfilled = app
        .post(
            &admin_order_path(&order, "fulfill"),
            Some(&staff),
            json!({"tracking_number": "TRACK1"}),
        )
        .await;
    let body = fulfilled.assert_status(200);
    assert_eq!(body["status"], "fulfilled");
    assert_eq!(body["tracking_number"], "TRACK1");
    assert_eq!(body["payment"]["status"], "captured");

    let seen = app.get(&format!("/v1/orders/{}", id_of(&order)), Some(&owner)).await;
    assert_eq!(
        seen.assert_status(200)["status"],
        "fulfilled",
        "the customer sees the change"
    );

    app.post(
        &admin_order_path(&order, "fulfill"),
        Some(&staff),
        json!({"tracking_number": "TRACK2"}),
    )
    .await
    .assert_problem(409, "conflict");
    app.post(&admin_order_path(&order, "cancel"), Some(&staff), json!({}))
        .await
        .assert_problem(409, "conflict");
}

async fn cancel_refunds_the_payment_and_returns_the_stock(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, variant_id) = app.paid_order(&staff, None, 1250, 3, 10).await;
    assert_eq!(app.stock(&staff, &variant_id).await, (7, 0, 7));

    let canceled = app
        .post(&admin_order_path(&order, "cancel"), Some(&staff), json!({}))
        .await;
    let body = canceled.assert_status(200);
    assert_eq!(body["status"], "canceled");
    assert_eq!(body["payment"]["status"], "refunded");
    assert_money(&body["payment"]["amount"], 3750);
    assert_eq!(body["payment"]["refunded_amount"], body["payment"]["amount"]);
    assert_eq!(app.stock(&staff, &variant_id).await, (10, 0, 10), "the stock is back");
}

async fn canceled_order_cannot_be_fulfilled_or_canceled_again(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, variant_id) = app.paid_order(&staff, None, 1000, 2, 5).await;
    app.post(&admin_order_path(&order, "cancel"), Some(&staff), json!({}))
        .await
        .assert_status(200);

    app.post(
        &admin_order_path(&order, "fulfill"),
        Some(&staff),
        json!({"tracking_number": "TRACK1"}),
    )
    .await
    .assert_problem(409, "conflict");
    app.post(&admin_order_path(&order, "cancel"), Some(&staff), json!({}))
        .await
        .assert_problem(409, "conflict");
    app.post(&admin_order_path(&order, "refund"), Some(&staff), json!({}))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(
        app.stock(&staff, &variant_id).await,
        (5, 0, 5),
        "stock is returned once"
    );
}

async fn refunds_go_partial_then_full_and_never_past_the_amount(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, None, 2500, 2, 5).await;
    let refund = admin_order_path(&order, "refund");

    let partial = app.post(&refund, Some(&staff), json!({"amount": 2000})).await;
    let body = partial.assert_status(200);
    assert_eq!(body["status"], "paid", "a refund does not change the fulfilment status");
    assert_eq!(body["payment"]["status"], "partially_refunded");
    assert_money(&body["payment"]["refunded_amount"], 2000);

    let too_much = app.post(&refund, Some(&staff), json!({"amount": 3001})).await;
    too_much.assert_problem(422, "validation_failed");
    assert_eq!(
        too_much.body["errors"][0]["message"], "can be at most 30.00 EUR, what is left to refund",
        "in the currency's units, as the dashboard's field is"
    );

    let rest = app.post(&refund, Some(&staff), json!({})).await;
    let body = rest.assert_status(200);
    assert_eq!(body["payment"]["status"], "refunded");
    assert_money(&body["payment"]["refunded_amount"], 5000);
    assert_eq!(body["payment"]["refunded_amount"], body["payment"]["amount"]);

    app.post(&refund, Some(&staff), json!({"amount": 1}))
        .await
        .assert_problem(409, "conflict");
    app.post(&refund, Some(&staff), json!({}))
        .await
        .assert_problem(409, "conflict");
}

async fn fulfilled_order_can_still_be_refunded(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, None, 1000, 1, 5).await;
    app.post(&admin_order_path(&order, "fulfill"), Some(&staff), json!({}))
        .await
        .assert_status(200);

    let refunded = app
        .post(&admin_order_path(&order, "refund"), Some(&staff), json!({}))
        .await;
    let body = refunded.assert_status(200);
    assert_eq!(body["status"], "fulfilled");
    assert_eq!(body["payment"]["status"], "refunded");
    assert_money(&body["payment"]["refunded_amount"], 1000);
}

/// With manual capture the test provider authorizes at checkout, fulfilment captures
/// (once, however many fulfilments race) and a cancel releases: nothing refunded.
async fn manual_capture_takes_the_money_at_fulfilment(app: TestApp) {
    let staff = app.staff_token().await;
    let (order, _) = app.paid_order(&staff, None, 2000, 1, 5).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["payment"]["status"], "authorized");
    assert_eq!(app.captures().await, 0, "authorized, not captured");
    let fulfil = admin_order_path(&order, "fulfill");
    let fulfilments = (0..4).map(|_| app.post(&fulfil, Some(&staff), json!({})));
    let answers = futures_util::future::join_all(fulfilments).await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    let fulfilled = app
        .get(&format!("/v1/admin/orders/{}", id_of(&order)), Some(&staff))
        .await;
    assert_eq!(fulfilled.assert_status(200)["payment"]["status"], "captured");
    assert_eq!(app.captures().await, 1);

    let (order, variant_id) = app.paid_order(&staff, None, 2000, 1, 5).await;
    let canceled = app
        .post(&admin_order_path(&order, "cancel"), Some(&staff), json!({}))
        .await;
    let canceled = canceled.assert_status(200);
    assert_eq!(canceled["payment"]["status"], "canceled");
    assert_eq!(canceled["payment"]["refunded_amount"], eur(0));
    assert_eq!(canceled["refunds"], json!([]));
    assert_eq!(app.captures().await, 1, "the second order's money was never taken");
    assert_eq!(app.stock(&staff, &variant_id).await, (5, 0, 5));
    let refund = app
        .post(&admin_order_path(&order, "refund"), Some(&staff), json!({}))
        .await;
    refund.assert_problem(409, "conflict");
}

fn manual_capture() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.payments.capture = backroom::domain::payments::CaptureMode::Manual;
    options
}

mod manual {
    use super::*;
    crate::backend_tests!(options = crate::orders::manual_capture(); manual_capture_takes_the_money_at_fulfilment);
}

crate::backend_tests!(
    order_events_reach_streams_on_another_server,
    a_new_staff_stream_skips_events_committed_before_it_opened,
    customer_lists_only_own_orders_newest_first,
    listing_orders_requires_a_token,
    order_is_visible_to_its_customer_only,
    guest_order_is_read_with_its_token,
    order_events_stream_the_order_then_its_fulfilment,
    guest_order_events_open_with_the_order_token,
    order_events_are_hidden_from_other_customers,
    staff_see_every_customers_orders_and_filter_by_status,
    fulfilment_records_tracking_and_is_final,
    cancel_refunds_the_payment_and_returns_the_stock,
    canceled_order_cannot_be_fulfilled_or_canceled_again,
    refunds_go_partial_then_full_and_never_past_the_amount,
    fulfilled_order_can_still_be_refunded,
);
