//! A Backroom server inside the test's process, on a random loopback port: the test
//! reaches it over HTTP through [`Shop`] (which a `TestApp` derefs to), and reaches past
//! HTTP only to run its background jobs now, age its rows, or read the test provider's
//! ledger.

use std::ops::Deref;

use backroom::app::AppState;
use backroom::media::MediaLocation;
use backroom::server::{Server, ServerOptions};
use backroom::store::Store;
use serde_json::json;

use super::database::{postgres_media_folder, unique_suffix};
use super::{PASSWORD, Shop};

pub struct TestApp {
    shop: Shop,
    pub database_url: String,
    pub options: ServerOptions,
    pub store: Store,
    state: AppState,
    shutdown: std::sync::Arc<tokio::sync::Notify>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.notify_one();
    }
}

impl Deref for TestApp {
    type Target = Shop;

    fn deref(&self) -> &Shop {
        &self.shop
    }
}

impl TestApp {
    /// Starts a server on `database_url` (migrating it first); it stops when the
    /// `TestApp` is dropped.
    pub async fn start(database_url: &str, mut options: ServerOptions) -> TestApp {
        if options.media == MediaLocation::default() {
            options.media = if database_url.starts_with("sqlite:") {
                MediaLocation::beside_database(database_url)
            } else {
                MediaLocation::Directory(postgres_media_folder())
            };
        }
        let store = Store::connect(database_url).await.expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        let server = Server::bind("127.0.0.1:0".parse().expect("addr"), store.clone(), options.clone())
            .await
            .expect("bind test server");
        let addr = server.local_addr();
        let state = server.state();
        let shutdown = std::sync::Arc::new(tokio::sync::Notify::new());
        let signal = shutdown.clone();
        tokio::spawn(async move {
            server
                .run(async move { signal.notified().await })
                .await
                .expect("server runs");
        });
        TestApp {
            shop: Shop::new(format!("http://{addr}")),
            database_url: database_url.to_owned(),
            options,
            store,
            state,
            shutdown,
        }
    }

    /// A second server on the same database, as a second `backroom serve` process would
    /// be: its own pool, its own memory.
    pub async fn start_peer(&self) -> TestApp {
        TestApp::start(&self.database_url, self.options.clone()).await
    }

    /// Runs every background job of this server once, now: how tests see recovery,
    /// expiry, cleanup and the outbox act without waiting for the jobs' interval.
    pub async fn run_jobs(&self) {
        backroom::jobs::run_once(&self.state).await;
    }

    /// Sends every webhook delivery due now; returns how many succeeded.
    pub async fn deliver_webhooks(&self) -> u64 {
        backroom::jobs::deliver_webhooks(&self.state)
            .await
            .expect("deliver webhooks")
    }

    /// Where this server keeps its images (the demo loader uploads to it).
    pub fn media(&self) -> backroom::media::MediaStore {
        self.state.media.clone()
    }

    /// Creates a staff account (role admin) the way `backroom admin create` does, and logs it in.
    pub async fn staff_token(&self) -> String {
        let email = format!("staff-{}@example.com", unique_suffix());
        backroom::domain::accounts::staff::create_admin(&self.store, &email, PASSWORD)
            .await
            .expect("create admin");
        let response = self
            .post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
            .await;
        let body = response.assert_status(200);
        assert!(body["staff"].is_object(), "staff login answers with `staff`");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Moves `column` (a Unix-microseconds time) of every row of `table` `seconds` into the
    /// past: how tests make sessions, tokens and records old without waiting.
    pub async fn age(&self, table: &str, column: &str, seconds: i64) {
        age(&self.store, table, column, seconds).await;
    }

    /// Captures the test provider recorded as charged: what the customer paid.
    pub async fn captures(&self) -> i64 {
        captures(&self.store).await
    }
}

/// [`TestApp::age`] on any store, for tests whose servers run as child processes.
pub async fn age(store: &Store, table: &str, column: &str, seconds: i64) {
    store
        .execute_unchecked(format!(
            "UPDATE {table} SET {column} = {column} - {}",
            seconds * 1_000_000
        ))
        .await
        .expect("age rows");
}

/// [`TestApp::captures`] on any store.
pub async fn captures(store: &Store) -> i64 {
    backroom::store::test_provider::count_captures(store)
        .await
        .expect("count captures")
}
