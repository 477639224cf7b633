//! The storefront and dashboard in a real browser: `tests/browser/shop.test.mjs` drives
//! Debian's Chromium with playwright-core against a server with a fresh database and the
//! demo catalog, on each backend; `tests/browser/stripe.test.mjs` pays with Stripe.
//!
//! It needs Node.js, Chromium (`/usr/bin/chromium`, or `BACKROOM_CHROMIUM`) and the npm
//! packages (`npm ci --prefix tests/browser`). Without them it is skipped with a message,
//! unless `BACKROOM_REQUIRE_BROWSER=1` (as in CI), where a missing tool is a failure.

use std::path::{Path, PathBuf};

use backroom::server::ServerOptions;

use crate::support::fake_stripe::FakeStripe;
use crate::support::{PASSWORD, TestApp, unique_email};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");

/// Chromium's path, or why the browser tests cannot run here.
fn browser_tools() -> Result<PathBuf, String> {
    let chromium = PathBuf::from(std::env::var("BACKROOM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if !chromium.exists() {
        return Err(format!("{} not found (apt-get install chromium)", chromium.display()));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        return Err("Node.js (`node`) not found".to_owned());
    }
    for package in ["playwright-core", "axe-core"] {
        if !Path::new(SCRIPTS).join("node_modules").join(package).exists() {
            return Err(format!("npm package {package} missing (npm ci --prefix tests/browser)"));
        }
    }
    Ok(chromium)
}

/// Chromium's path; `None`, said on the terminal, when the tools are missing and the
/// browser tests are not required.
fn chromium_or_skip() -> Option<PathBuf> {
    match browser_tools() {
        Ok(chromium) => Some(chromium),
        Err(reason) if std::env::var("BACKROOM_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
            panic!("browser tests required but cannot run: {reason}")
        }
        Err(reason) => {
            crate::support::skipped(&format!("browser tests: {reason}"));
            None
        }
    }
}

async fn shop_in_a_browser(app: TestApp) {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    backroom::demo::load_if_empty(&app.store, &app.media())
        .await
        .expect("load the demo catalog");
    let staff_email = unique_email("staff");
    backroom::domain::accounts::staff::create_admin(&app.store, &staff_email, PASSWORD)
        .await
        .expect("create a staff account");
    let backend = if app.database_url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let screenshots = std::env::var("BACKROOM_SCREENSHOTS")
        .unwrap_or_else(|_| format!("{}/target/screenshots/{backend}", env!("CARGO_MANIFEST_DIR")));

    let output = tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "shop.test.mjs",
        ])
        .current_dir(SCRIPTS)
        .env("BACKROOM_URL", &app.base_url)
        .env("BACKROOM_STAFF_EMAIL", &staff_email)
        .env("BACKROOM_STAFF_PASSWORD", PASSWORD)
        .env("BACKROOM_SCREENSHOTS", &screenshots)
        .env("BACKROOM_CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser tests failed (output above)");
}

/// The checkout with Stripe: Stripe.js is a stand-in served by the fake Stripe, from its
/// own origin; the shopper pays with a card that needs 3-D Secure.
async fn stripe_checkout_in_a_browser(database_url: String) {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let stripe = FakeStripe::start().await;
    let mut options = ServerOptions::for_tests();
    options.payments.provider = stripe.provider();
    let app = TestApp::start(&database_url, options).await;
    backroom::demo::load_if_empty(&app.store, &app.media())
        .await
        .expect("load the demo catalog");
    let output = tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "stripe.test.mjs",
        ])
        .current_dir(SCRIPTS)
        .env("BACKROOM_URL", &app.base_url)
        .env("BACKROOM_STRIPE_JS_ORIGIN", &stripe.url)
        .env("BACKROOM_CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the Stripe browser tests failed (output above)"
    );
    let staff = app.staff_token().await;
    assert_eq!(
        app.all_orders(&staff).await.len(),
        2,
        "the 3-D Secure order and the one after a decline"
    );
    assert_eq!(stripe.all_captures(), 2, "one capture each");
}

/// The browser's shop lets webhooks reach the test's own receiver on loopback.
fn shop_options() -> ServerOptions {
    let mut options = ServerOptions::for_tests();
    options.webhooks_allow_loopback = true;
    options
}

crate::backend_tests!(options = crate::browser::shop_options(); shop_in_a_browser);

mod with_stripe {
    use super::*;
    crate::database_tests!(stripe_checkout_in_a_browser);
}
