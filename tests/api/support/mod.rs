//! The test harness: every test boots a real Backroom server on a random loopback port
//! with its own fresh database, and talks to it over HTTP only.
//!
//! `backend_tests!` runs the same test function on SQLite and, when
//! `BACKROOM_TEST_POSTGRES_URL` is set, on PostgreSQL (a database created for the test
//! and dropped after it). Without it the PostgreSQL twins are reported as ignored, so the
//! run's last line says how many tests ran on SQLite only (see `build.rs`).
//!
//! - [`database`]: a fresh database per test;
//! - [`app`]: a server in the test's process ([`TestApp`]), with its jobs on demand;
//! - [`shop`]: the HTTP face of any running server ([`Shop`]) and the fixtures built on it;
//! - [`events`]: Server-Sent Events, to await what the server announces;
//! - [`process`]: `backroom` as a child process, as a user runs it;
//! - [`response`] and [`values`]: reading and asserting answers.

pub mod app;
pub mod database;
pub mod events;
pub mod fake_stripe;
pub mod process;
pub mod receiver;
pub mod response;
pub mod s3;
pub mod shop;
pub mod values;

use std::future::Future;
use std::io::Write;

pub use app::TestApp;
pub use database::TestDatabase;
pub use events::SseEvent;
pub use response::{Response, read};
pub use shop::Shop;
pub use values::*;

use backroom::server::ServerOptions;

pub const PASSWORD: &str = "correct horse battery";

/// Generates one `#[tokio::test]` per backend for each listed test function. With
/// `options = EXPR;` first, the servers start with those `ServerOptions`.
#[macro_export]
macro_rules! backend_tests {
    (options = $options:expr; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run_with(false, $options, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(backroom_postgres_tests), ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL")]
                async fn $name() {
                    $crate::support::run_with(true, $options, super::$name).await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(options = backroom::server::ServerOptions::for_tests(); $($name),*);
    };
}

/// Like [`backend_tests!`], for tests that run `backroom` as child processes: each listed
/// function takes the URL of a fresh database of each backend.
#[macro_export]
macro_rules! database_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::with_database(false, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(backroom_postgres_tests), ignore = "PostgreSQL leg: set BACKROOM_TEST_POSTGRES_URL")]
                async fn $name() {
                    $crate::support::with_database(true, super::$name).await
                }
            )*
        }
    };
}

/// Runs `test` with the URL of a fresh database, dropped even if the test panics.
pub async fn with_database<F, Fut>(postgres: bool, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = fresh_database(postgres).await else {
        return;
    };
    init_test_logging();
    let outcome = tokio::spawn(test(database.url.clone())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A fresh database of the backend, or `None` (said on the terminal) when PostgreSQL is
/// wanted but not configured.
pub async fn fresh_database(postgres: bool) -> Option<TestDatabase> {
    if !postgres {
        return Some(TestDatabase::sqlite());
    }
    let database = TestDatabase::postgres().await;
    if database.is_none() {
        skipped("PostgreSQL leg: BACKROOM_TEST_POSTGRES_URL is not set");
    }
    database
}

/// Runs `test` against a fresh server started with `options`; the database is dropped
/// even if the test panics.
pub async fn run_with<F, Fut>(postgres: bool, options: ServerOptions, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_database(postgres, |url| async move {
        let app = TestApp::start(&url, options).await;
        test(app).await;
    })
    .await;
}

/// Says that (part of) a test did not run, on the terminal itself: `eprintln!` would be
/// captured with the passing test's output and never seen.
pub fn skipped(reason: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {reason}");
}

/// Server logs go to the test's captured output (shown for a failing test); `RUST_LOG`
/// chooses the level, `warn` by default.
fn init_test_logging() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
