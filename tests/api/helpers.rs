//! The test harness: every test boots a real Backroom server on a random loopback port
//! with its own fresh database, and talks to it over HTTP only.
//!
//! `backend_tests!` runs the same test function on SQLite and, when
//! `BACKROOM_TEST_POSTGRES_URL` is set, on PostgreSQL (a database created for the test
//! and dropped after it).

use std::future::Future;

use backroom::server::{Server, ServerOptions};
use backroom::store::Store;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

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
                    $crate::helpers::run_with(false, $options, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::helpers::run_with(true, $options, super::$name).await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(options = backroom::server::ServerOptions::for_tests(); $($name),*);
    };
}

/// Runs `test` against a fresh server started with `options`; the database is dropped
/// even if the test panics.
pub async fn run_with<F, Fut>(postgres: bool, options: ServerOptions, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = if postgres {
        match TestDatabase::postgres().await {
            Some(database) => database,
            None => {
                eprintln!("skipping PostgreSQL leg: BACKROOM_TEST_POSTGRES_URL is not set");
                return;
            }
        }
    } else {
        TestDatabase::sqlite()
    };
    init_test_logging();
    let app = TestApp::start(&database.url, options).await;
    let outcome = tokio::spawn(test(app)).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
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

pub struct TestDatabase {
    pub url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempdir::TempDir>,
}

mod tempdir {
    /// A directory removed on drop; small enough not to need a crate.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("backroom-test-{}", uuid()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    pub fn uuid() -> String {
        backroom::domain::ids::random_suffix()
    }
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempdir::TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("backroom.db").display());
        TestDatabase {
            url,
            admin: None,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("BACKROOM_TEST_POSTGRES_URL").ok()?;
        let name = format!("backroom_test_{}", tempdir::uuid());
        backroom::store::create_postgres_database(&admin_url, &name)
            .await
            .expect("BACKROOM_TEST_POSTGRES_URL is set but PostgreSQL cannot create a test database");
        let url = backroom::store::with_database_name(&admin_url, &name);
        Some(TestDatabase {
            url,
            admin: Some((admin_url, name)),
            _dir: None,
        })
    }

    pub async fn drop_database(&self) {
        if let Some((admin_url, name)) = &self.admin
            && let Err(error) = backroom::store::drop_postgres_database(admin_url, name).await
        {
            eprintln!("could not drop test database {name}: {error}");
        }
    }
}

pub struct TestApp {
    pub base_url: String,
    pub database_url: String,
    pub options: ServerOptions,
    pub client: reqwest::Client,
    pub store: Store,
    shutdown: std::sync::Arc<tokio::sync::Notify>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.notify_one();
    }
}

/// A response read whole: status, headers, and the body as text and (when it is JSON) as a value.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json error with this status and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status, body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "errors are problem+json"
        );
        assert_eq!(self.body["code"], code, "unexpected code, body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status, body: {}", self.text);
        &self.body
    }
}

impl TestApp {
    /// Starts a server on `database_url` (migrating it first); it stops when the
    /// `TestApp` is dropped.
    pub async fn start(database_url: &str, options: ServerOptions) -> TestApp {
        let store = Store::connect(database_url).await.expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        let server = Server::bind("127.0.0.1:0".parse().expect("addr"), store.clone(), options.clone())
            .await
            .expect("bind test server");
        let addr = server.local_addr();
        let shutdown = std::sync::Arc::new(tokio::sync::Notify::new());
        let signal = shutdown.clone();
        tokio::spawn(async move {
            server
                .run(async move { signal.notified().await })
                .await
                .expect("server runs");
        });
        TestApp {
            base_url: format!("http://{addr}"),
            database_url: database_url.to_owned(),
            options,
            client: reqwest::Client::new(),
            store,
            shutdown,
        }
    }

    /// The same server under another handle (for tests that run on one process).
    pub fn start_peer_on_same_process(&self) -> TestApp {
        TestApp {
            base_url: self.base_url.clone(),
            database_url: self.database_url.clone(),
            options: self.options.clone(),
            client: self.client.clone(),
            store: self.store.clone(),
            shutdown: std::sync::Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// A second server on the same database, as a second `backroom serve` process would
    /// be: its own pool, its own memory.
    pub async fn start_peer(&self) -> TestApp {
        TestApp::start(&self.database_url, self.options.clone()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends any request; `token` becomes a bearer token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request reaches the server")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// A POST carrying an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, token: Option<&str>, key: &str, body: Value) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("idempotency-key", key)
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request reaches the server")).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(reqwest::Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::DELETE, path, token, None).await
    }

    /// Registers a customer and returns `(token, customer)`.
    pub async fn register(&self, email: &str) -> (String, Value) {
        let response = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Test Customer"}),
            )
            .await;
        let body = response.assert_status(201);
        (
            body["token"].as_str().expect("token").to_owned(),
            body["customer"].clone(),
        )
    }

    /// Creates a staff account (role admin) the way `backroom admin create` does, and logs it in.
    pub async fn staff_token(&self) -> String {
        let email = format!("staff-{}@example.com", tempdir::uuid());
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

    /// Creates a published product with one EUR variant; returns `(product, variant_id)`.
    pub async fn published_product(&self, staff: &str, price: i64, inventory: i64) -> (Value, String) {
        let sku = format!("SKU-{}", tempdir::uuid());
        let response = self
            .post(
                "/v1/admin/products",
                Some(staff),
                json!({
                    "title": format!("Product {sku}"),
                    "description": "A thing for tests",
                    "status": "published",
                    "variants": [{"sku": sku, "title": "Default", "price": {"amount": price, "currency": "EUR"}, "inventory": inventory}]
                }),
            )
            .await;
        let product = response.assert_status(201).clone();
        let variant_id = product["variants"][0]["id"].as_str().expect("variant id").to_owned();
        (product, variant_id)
    }

    /// Creates a cart (owned by `token`'s customer, or a guest cart) holding `quantity` of `variant_id`.
    pub async fn cart_with(&self, token: Option<&str>, variant_id: &str, quantity: i64) -> Value {
        let cart = self
            .post("/v1/carts", token, json!({}))
            .await
            .assert_status(201)
            .clone();
        let id = cart["id"].as_str().expect("cart id");
        self.post(
            &format!("/v1/carts/{id}/items"),
            token,
            json!({"variant_id": variant_id, "quantity": quantity}),
        )
        .await
        .assert_status(200)
        .clone()
    }

    /// Checks out `cart_id` paying with `payment_token` (a guest checkout gets an email).
    pub async fn checkout(&self, token: Option<&str>, cart_id: &str, payment_token: &str) -> Response {
        self.post(
            &format!("/v1/carts/{cart_id}/checkout"),
            token,
            checkout_body(payment_token),
        )
        .await
    }

    /// Units of `variant_id` on hand, reserved and available, read through the staff API.
    pub async fn stock(&self, staff: &str, variant_id: &str) -> (i64, i64, i64) {
        let body = self
            .post(
                &format!("/v1/admin/inventory/{variant_id}/adjust"),
                Some(staff),
                json!({"delta": 0, "reason": "count"}),
            )
            .await
            .assert_status(200)
            .clone();
        (
            body["on_hand"].as_i64().expect("on_hand"),
            body["reserved"].as_i64().expect("reserved"),
            body["available"].as_i64().expect("available"),
        )
    }
}

pub fn checkout_body(payment_token: &str) -> Value {
    json!({
        "email": "buyer@example.com",
        "shipping_address": address(),
        "payment": {"token": payment_token}
    })
}

pub fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"})
}

pub async fn read(response: reqwest::Response) -> Response {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("read body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        text,
        body,
    }
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", tempdir::uuid())
}

// Shared helpers for the API test modules.

/// A EUR money object.
pub fn eur(amount: i64) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// The `id` of a JSON object, panicking with the object when it has none.
#[track_caller]
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no `id` in {value}"))
        .to_owned()
}

/// The `id`s of a list response's `data`, in order.
#[track_caller]
pub fn ids_in(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no `data` array in {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Asserts a string is an RFC 3339 timestamp in UTC (ending in `Z`).
#[track_caller]
pub fn assert_utc_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is a string, got {value}"));
    assert!(text.ends_with('Z'), "timestamp {text} is in UTC with a `Z`");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|error| panic!("timestamp {text} is RFC 3339: {error}"));
}

/// Asserts a money object: exactly `{amount: <integer>, currency: "EUR"}`.
#[track_caller]
pub fn assert_money(value: &Value, amount: i64) {
    assert!(value["amount"].is_i64(), "money amount is an integer, got {value}");
    assert_eq!(value, &eur(amount), "money object");
}

impl Response {
    /// The `field`s of a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|error| error["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a 422 `validation_failed` problem naming `field` in its `errors`.
    #[track_caller]
    pub fn assert_field_error(&self, field: &str) {
        self.assert_problem(422, "validation_failed");
        let errors = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("`errors` array in {}", self.text));
        let error = errors
            .iter()
            .find(|error| error["field"] == field)
            .unwrap_or_else(|| panic!("an error for field `{field}` in {}", self.text));
        assert!(error["message"].is_string(), "each error has a message: {}", self.text);
    }

    /// Asserts a 422 `validation_failed` problem with a field error starting with `prefix`.
    #[track_caller]
    pub fn assert_field_error_starting(&self, prefix: &str) {
        self.assert_problem(422, "validation_failed");
        assert!(
            self.error_fields().iter().any(|field| field.starts_with(prefix)),
            "an error for a field starting with `{prefix}` in {}",
            self.text
        );
    }
}

impl TestApp {
    /// Registers a customer with a fresh email; returns `(token, customer)`.
    pub async fn customer(&self) -> (String, Value) {
        self.register(&unique_email("customer")).await
    }

    /// Publishes a product (`inventory` units at `price`), buys `quantity` of it with `tok_visa` in a cart of
    /// `token`'s customer (or as a guest) and returns `(order, variant_id)`.
    pub async fn paid_order(
        &self,
        staff: &str,
        token: Option<&str>,
        price: i64,
        quantity: i64,
        inventory: i64,
    ) -> (Value, String) {
        let (_, variant_id) = self.published_product(staff, price, inventory).await;
        let cart = self.cart_with(token, &variant_id, quantity).await;
        let order = self
            .checkout(token, &id_of(&cart), "tok_visa")
            .await
            .assert_status(201)
            .clone();
        (order, variant_id)
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

impl TestApp {
    /// Moves `column` (a Unix-microseconds time) of every row of `table` `seconds` into the
    /// past: how tests make sessions, tokens and records old without waiting.
    pub async fn age(&self, table: &str, column: &str, seconds: i64) {
        self.store
            .execute_unchecked(format!(
                "UPDATE {table} SET {column} = {column} - {}",
                seconds * 1_000_000
            ))
            .await
            .expect("age rows");
    }

    /// Captures the test provider recorded as charged: what the customer paid.
    pub async fn captures(&self) -> i64 {
        backroom::store::test_provider::count_captures(&self.store)
            .await
            .expect("count captures")
    }
}
