//! The customer hears of their order by email, from its events: confirmed at checkout,
//! shipped with its tracking number, refunded; each once.

use serde_json::json;
use tokio::sync::mpsc;

use crate::password_reset::{fake_smtp_server, fake_smtp_server_refusing, mailing_to, next_email};
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
    run_with(postgres, mailing_to(&smtp_url), move |app| order_emails(app, mail)).await;
}

/// A busy day's emails (more than one claim's worth, here password resets) all go out in
/// one round of the jobs, each once, not a few a round while the rest wait.
async fn a_backlog_goes_out_in_one_round(app: TestApp, mut mail: mpsc::UnboundedReceiver<String>) {
    const BACKLOG: usize = 60;
    let email = unique_email("busy");
    app.register(&email).await;
    for _ in 0..BACKLOG {
        app.post("/v1/auth/password-reset", None, json!({"email": email}))
            .await
            .assert_status(202);
    }
    app.run_jobs().await;
    for _ in 0..BACKLOG {
        let message = next_email(&mut mail).await;
        assert!(message.contains(&format!("To: {email}")), "{message}");
    }
    app.run_jobs().await;
    assert!(mail.try_recv().is_err(), "each email once");
}

/// An email the mail server refuses for now is tried again later, and goes out once; the
/// one sent beside it is not held back.
async fn a_refused_email_is_tried_again(app: TestApp, mut mail: mpsc::UnboundedReceiver<String>) {
    let email = unique_email("refused");
    app.register(&email).await;
    for _ in 0..2 {
        app.post("/v1/auth/password-reset", None, json!({"email": email}))
            .await
            .assert_status(202);
    }
    app.run_jobs().await;
    assert!(next_email(&mut mail).await.contains("Reset your password"));
    app.run_jobs().await;
    assert!(mail.try_recv().is_err(), "the refused one waits before its next try");

    app.age("outbox", "next_attempt_at", 11).await;
    app.run_jobs().await;
    assert!(next_email(&mut mail).await.contains("Reset your password"));
    app.age("outbox", "next_attempt_at", 3600).await;
    app.run_jobs().await;
    assert!(mail.try_recv().is_err(), "each email once");
}

/// Runs `test` on a server whose emails go to a fake SMTP server that refuses the first
/// `refusals`; only the test's own rounds of the jobs deliver (the interval's first round
/// is at start, before the test has written anything).
async fn with_mail<F, Fut>(postgres: bool, refusals: usize, test: F)
where
    F: FnOnce(TestApp, mpsc::UnboundedReceiver<String>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (smtp_url, mail) = fake_smtp_server_refusing(refusals);
    let mut options = mailing_to(&smtp_url);
    options.jobs_interval = std::time::Duration::from_secs(3600);
    run_with(postgres, options, move |app| test(app, mail)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_email_is_tried_again_on_sqlite() {
    with_mail(false, 1, a_refused_email_is_tried_again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
async fn a_refused_email_is_tried_again_on_postgres() {
    with_mail(true, 1, a_refused_email_is_tried_again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_emails_goes_out_in_one_round_on_sqlite() {
    with_mail(false, 0, a_backlog_goes_out_in_one_round).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
async fn a_backlog_of_emails_goes_out_in_one_round_on_postgres() {
    with_mail(true, 0, a_backlog_goes_out_in_one_round).await;
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
