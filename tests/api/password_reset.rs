//! Password reset by email: always 202, a single-use token valid for 30 minutes delivered
//! through the outbox to a real SMTP conversation (a small fake server here), and every
//! session revoked when the password is set.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::support::*;

/// A minimal SMTP server that accepts every message and hands its text to the test.
pub fn fake_smtp_server() -> (String, mpsc::UnboundedReceiver<String>) {
    fake_smtp_server_refusing(0)
}

/// [`fake_smtp_server`] that answers the first `refusals` messages with a temporary
/// failure (451: try again later), as a busy mail server does.
pub fn fake_smtp_server_refusing(refusals: usize) -> (String, mpsc::UnboundedReceiver<String>) {
    let refusals = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(refusals));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind smtp");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            let refusals = refusals.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake.example ESMTP\r\n").await;
                let mut in_data = false;
                let mut message = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let message = std::mem::take(&mut message);
                            let refused = refusals
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
                                .is_ok();
                            if refused {
                                let _ = write.write_all(b"451 4.3.0 try again later\r\n").await;
                            } else {
                                let _ = sender.send(message);
                                let _ = write.write_all(b"250 queued\r\n").await;
                            }
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake.example\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                    if verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    (url, receiver)
}

/// Test server options whose emails go to the SMTP server at `smtp_url`.
pub fn mailing_to(smtp_url: &str) -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.mailer = backroom::mail::Mailer::new(Some(smtp_url), "Backroom <shop@example.com>", true).expect("mailer");
    options
}

pub async fn next_email(mail: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(15), mail.recv())
        .await
        .expect("the email arrives within 15 s")
        .expect("mail channel open")
}

fn reset_token(email: &str) -> String {
    let start = email.find("prt_").expect("a reset token in the email");
    email[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

async fn reset_flow(app: TestApp, mut mail: mpsc::UnboundedReceiver<String>) {
    let email = unique_email("forgot");
    let (first_session, _) = app.register(&email).await;

    let unknown = app
        .post(
            "/v1/auth/password-reset",
            None,
            json!({"email": unique_email("nobody")}),
        )
        .await;
    assert_eq!(unknown.status, 202, "{}", unknown.text);
    let known = app
        .post("/v1/auth/password-reset", None, json!({"email": email.to_uppercase()}))
        .await;
    assert_eq!(known.status, 202, "the same answer whether or not the account exists");
    assert_eq!(known.text, unknown.text);

    let message = next_email(&mut mail).await;
    assert!(
        message.contains(&format!("To: {email}")),
        "the first email goes to the account: {message}"
    );
    let token = reset_token(&message);

    let confirm = |token: String, password: &'static str| {
        app.post(
            "/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": password}),
        )
    };
    confirm(token.clone(), "short").await.assert_field_error("password");
    confirm("prt_made_up".to_owned(), "a fresh new password")
        .await
        .assert_field_error("token");
    let done = confirm(token.clone(), "a fresh new password").await;
    assert_eq!(done.status, 204, "{}", done.text);

    app.get("/v1/me", Some(&first_session))
        .await
        .assert_problem(401, "unauthorized");
    app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await
        .assert_problem(401, "unauthorized");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": "a fresh new password"}),
    )
    .await
    .assert_status(200);
    confirm(token, "yet another password").await.assert_field_error("token");

    // A token older than 30 minutes no longer works.
    app.post("/v1/auth/password-reset", None, json!({"email": email})).await;
    let late = reset_token(&next_email(&mut mail).await);
    app.age("password_resets", "expires_at", 31 * 60).await;
    confirm(late, "one more new password").await.assert_field_error("token");
}

async fn run_reset(postgres: bool) {
    let (smtp_url, mail) = fake_smtp_server();
    let mut options = mailing_to(&smtp_url);
    options.jobs_interval = Duration::from_millis(100);
    run_with(postgres, options, move |app| reset_flow(app, mail)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_email_on_sqlite() {
    run_reset(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backroom_postgres_tests),
    ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL"
)]
async fn password_reset_by_email_on_postgres() {
    run_reset(true).await;
}
