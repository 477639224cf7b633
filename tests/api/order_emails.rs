//! The customer hears of their order by email, from its events: confirmed at checkout,
//! shipped with its tracking number, refunded; each once.

use serde_json::json;
use tokio::sync::mpsc;

use crate::password_reset::{fake_smtp_server, next_email};
use crate::support::*;

async fn order_emails(app: TestApp, mut mail: mpsc::UnboundedReceiver<String>) {
    let staff = app.staff_token().await;
    let (customer, _) = app.customer().await;
    let (order, _) = app.paid_order(&staff, Some(&customer), 1250, 2, 10).await;
    let number = order["number"].as_i64().expect("number");
    app.run_jobs().await;
    let confirmed = next_email(&mut mail).await;
    let to = order["email"].as_str().expect("the email the checkout gave");
    assert!(confirmed.contains(&format!("To: {to}")), "{confirmed}");
    assert!(
        confirmed.contains(&format!("Your order {number} is confirmed")),
        "{confirmed}"
    );
    assert!(
        confirmed.contains("Total: 25.00 EUR"),
        "the order's total, in euros: {confirmed}"
    );

    let path = format!("/v1/admin/orders/{}/fulfill", order["id"].as_str().expect("id"));
    app.post(&path, Some(&staff), json!({"tracking_number": "1Z999AA10123456784"}))
        .await
        .assert_status(200);
    app.run_jobs().await;
    let shipped = next_email(&mut mail).await;
    assert!(
        shipped.contains(&format!("Your order {number} is on its way")),
        "{shipped}"
    );
    assert!(shipped.contains("1Z999AA10123456784"), "{shipped}");

    let path = format!("/v1/admin/orders/{}/refund", order["id"].as_str().expect("id"));
    app.post(&path, Some(&staff), json!({"amount": 500}))
        .await
        .assert_status(200);
    app.run_jobs().await;
    let refunded = next_email(&mut mail).await;
    assert!(
        refunded.contains("5.00 EUR of your order has been refunded"),
        "{refunded}"
    );

    app.run_jobs().await;
    assert!(mail.try_recv().is_err(), "one email each, none twice");
}

async fn run(postgres: bool) {
    let (smtp_url, mail) = fake_smtp_server();
    let mut options = backroom::server::ServerOptions::for_tests();
    options.mailer = backroom::mail::Mailer::new(Some(&smtp_url), "Backroom <shop@example.com>", true).expect("mailer");
    run_with(postgres, options, move |app| order_emails(app, mail)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_hear_of_their_order_on_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
async fn customers_hear_of_their_order_on_postgres() {
    run(true).await;
}
