//! Clients that hang up mid-request never leave a pooled connection inside a transaction
//! (design.md, invariant 10; issue 19).
//!
//! `backroom serve` runs as its own process with its log captured. Clients hammer it with
//! writes and close their sockets at random moments: right after sending, a random
//! number of microseconds later (while the database work runs), or after the answer's
//! first bytes. Well-behaved clients run beside them and must never see a server error.
//! Afterwards no session of the database may sit in a transaction, PostgreSQL may not have
//! warned that a transaction was (or was not) in progress, every acknowledged write must
//! be in the database, and no write may be half there.
//!
//! The second variant slows the database down to widen the windows: on PostgreSQL a
//! trigger sleeps in every cart update; on SQLite the test itself keeps taking the write
//! lock, so the server's writers queue for it while clients hang up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::process::{admin_create, start_server_capturing_log};
use crate::support::{PASSWORD, id_of, read};

const CARTS: usize = 12;
const HANGING_CLIENTS: usize = 16;
const REQUESTS_PER_HANGING_CLIENT: usize = 80;
const POLITE_CLIENTS: usize = 6;
const REQUESTS_PER_POLITE_CLIENT: usize = 60;

/// Acknowledged adds per cart, and the carts whose creation was acknowledged.
#[derive(Default)]
struct Acknowledged {
    adds: HashMap<String, i64>,
    created_carts: Vec<String>,
}

async fn hangups_leave_every_connection_clean(database_url: String, slowed: bool) {
    assert!(
        admin_create(&database_url, "boss@example.com", PASSWORD)
            .await
            .status
            .success()
    );
    let (server, shop, log) = start_server_capturing_log(&database_url, &["--rate-limits", "off"], &[]).await;
    let (base, client) = (shop.base_url.clone(), shop.client.clone());
    let staff = shop.login("boss@example.com", PASSWORD).await;
    let product = read(
        client
            .post(format!("{base}/v1/admin/products"))
            .bearer_auth(&staff)
            .json(&json!({
                "title": "Hang-up Mug",
                "status": "published",
                "variants": [{"sku": "HANGUP-1", "price": {"amount": 900, "currency": "EUR"}, "inventory": 10}]
            }))
            .send()
            .await
            .expect("create product"),
    )
    .await;
    let variant_id = id_of(&product.assert_status(201)["variants"][0]);
    let mut carts = Vec::new();
    for _ in 0..CARTS {
        let cart = read(
            client
                .post(format!("{base}/v1/carts"))
                .json(&json!({}))
                .send()
                .await
                .expect("create cart"),
        )
        .await;
        carts.push(id_of(cart.assert_status(201)));
    }

    let store = backroom::store::Store::connect(&database_url).await.expect("connect");
    let slowdown = if slowed {
        Some(slow_down(&store, &database_url).await)
    } else {
        None
    };

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let addr = base.trim_start_matches("http://").to_owned();
    let mut tasks = Vec::new();
    for _ in 0..HANGING_CLIENTS {
        let (addr, carts, variant_id, acknowledged) =
            (addr.clone(), carts.clone(), variant_id.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS_PER_HANGING_CLIENT {
                hang_up_on_a_write(&addr, &carts, &variant_id, &acknowledged).await;
            }
        }));
    }
    for _ in 0..POLITE_CLIENTS {
        let (base, carts, variant_id, acknowledged) =
            (base.clone(), carts.clone(), variant_id.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for round in 0..REQUESTS_PER_POLITE_CLIENT {
                let cart = carts[round % carts.len()].clone();
                if round % 3 == 0 {
                    let response = read(
                        client
                            .get(format!("{base}/v1/carts/{cart}"))
                            .send()
                            .await
                            .expect("get cart"),
                    )
                    .await;
                    response.assert_status(200);
                } else {
                    let response = read(
                        client
                            .post(format!("{base}/v1/carts/{cart}/items"))
                            .json(&json!({"variant_id": variant_id, "quantity": 1}))
                            .send()
                            .await
                            .expect("add to cart"),
                    )
                    .await;
                    response.assert_status(200);
                    *acknowledged.lock().expect("lock").adds.entry(cart).or_default() += 1;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    if let Some(slowdown) = slowdown {
        slowdown.stop().await;
    }

    // Every pooled connection is borrowed again, so one left inside a transaction would
    // show now (a warning, or a failing request).
    let mut burst = Vec::new();
    for cart in carts.iter().cycle().take(48) {
        let (client, base, cart) = (client.clone(), base.clone(), cart.clone());
        burst.push(tokio::spawn(async move {
            read(
                client
                    .get(format!("{base}/v1/carts/{cart}"))
                    .send()
                    .await
                    .expect("get cart"),
            )
            .await
            .assert_status(200);
        }));
    }
    for request in burst {
        request.await.expect("burst request");
    }

    assert_no_transaction_left_open(&store, &database_url).await;
    let acknowledged = std::mem::take(&mut *acknowledged.lock().expect("lock"));
    assert_writes_whole(&store, &carts, &acknowledged).await;
    drop(server);
    store.close().await;

    let log = log.lock().expect("log").clone();
    let warnings: Vec<&String> = log
        .iter()
        .filter(|line| line.contains("transaction in progress") || line.contains("within a transaction"))
        .collect();
    assert!(
        warnings.is_empty(),
        "the database saw transactions out of step with the pool:\n{warnings:#?}"
    );
    let errors: Vec<&String> = log.iter().filter(|line| line.contains("ERROR")).collect();
    assert!(errors.is_empty(), "the server logged errors:\n{errors:#?}");
}

/// Sends one write (a new cart, or one more unit in a cart) and hangs up at a random
/// moment; an answer read whole is recorded as acknowledged.
async fn hang_up_on_a_write(addr: &str, carts: &[String], variant_id: &str, acknowledged: &Mutex<Acknowledged>) {
    let (moment, cart, creates) = {
        let mut rng = rand::rng();
        (
            rng.random_range(0..10u32),
            carts[rng.random_range(0..carts.len())].clone(),
            rng.random_bool(0.3),
        )
    };
    let (path, body) = if creates {
        ("/v1/carts".to_owned(), "{}".to_owned())
    } else {
        (
            format!("/v1/carts/{cart}/items"),
            json!({"variant_id": variant_id, "quantity": 1}).to_string(),
        )
    };
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    match moment {
        // Gone before the server has done anything.
        0 => {}
        // Gone while the database work runs.
        1..=6 => {
            let micros = rand::rng().random_range(0..3_000);
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        // Gone after the first bytes of the answer.
        7 => {
            let mut first = [0u8; 1];
            let _ = stream.read(&mut first).await;
        }
        // Stays for the whole answer.
        _ => {
            let mut answer = Vec::new();
            if stream.read_to_end(&mut answer).await.is_ok() {
                record_answer(&answer, creates, &cart, acknowledged);
            }
        }
    }
    // Dropping the stream closes the socket.
}

fn record_answer(answer: &[u8], creates: bool, cart: &str, acknowledged: &Mutex<Acknowledged>) {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return;
    };
    let status = head.split(' ').nth(1).unwrap_or_default();
    assert!(!status.starts_with('5'), "a server error: {text}");
    let mut acknowledged = acknowledged.lock().expect("lock");
    match (creates, status) {
        (true, "201") => {
            let cart: Value = serde_json::from_str(body).expect("a cart");
            acknowledged.created_carts.push(id_of(&cart));
        }
        (false, "200") => *acknowledged.adds.entry(cart.to_owned()).or_default() += 1,
        _ => panic!("unexpected answer: {text}"),
    }
}

/// No database session is left inside a transaction. A request still finishing its work
/// may be between two statements for an instant; a leaked transaction stays for good,
/// so this waits (up to 10 s) for the last stragglers of the hung-up requests.
async fn assert_no_transaction_left_open(store: &backroom::store::Store, database_url: &str) {
    use backroom::store::Store;
    for _ in 0..100 {
        let open: i64 = match store {
            Store::Postgres(pool, _) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND state LIKE 'idle in transaction%'",
            )
            .fetch_one(pool)
            .await
            .expect("read pg_stat_activity"),
            // A transaction left open on the server's writer would hold SQLite's write
            // lock: taking it must succeed at once.
            Store::Sqlite { .. } => {
                let mut conn = sqlite_connection(database_url).await;
                sqlx::query("PRAGMA busy_timeout = 0")
                    .execute(&mut conn)
                    .await
                    .expect("busy timeout");
                let taken = sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.is_ok();
                if taken {
                    sqlx::query("ROLLBACK").execute(&mut conn).await.expect("rollback");
                }
                i64::from(!taken)
            }
        };
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a database session stayed inside a transaction");
}

/// Every acknowledged write is in the database and none is half there: each add bumps
/// the cart's version and its line's quantity in one transaction, so a cart made at
/// version 1 and only ever added to holds `version - 1` units.
async fn assert_writes_whole(store: &backroom::store::Store, carts: &[String], acknowledged: &Acknowledged) {
    use backroom::store::Store;
    for cart in carts {
        let (version, quantity): (i64, i64) = match store {
            Store::Postgres(pool, _) => {
                sqlx::query_as(
                    "SELECT c.version, CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM carts c
                 LEFT JOIN cart_items i ON i.cart_id = c.id WHERE c.id = $1 GROUP BY c.version",
                )
                .bind(cart)
                .fetch_one(pool)
                .await
            }
            Store::Sqlite { reader, .. } => {
                sqlx::query_as(
                    "SELECT c.version, CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM carts c
                 LEFT JOIN cart_items i ON i.cart_id = c.id WHERE c.id = $1 GROUP BY c.version",
                )
                .bind(cart)
                .fetch_one(reader)
                .await
            }
        }
        .expect("read cart");
        assert_eq!(quantity, version - 1, "cart {cart}: an add is half written");
        let acknowledged_adds = acknowledged.adds.get(cart).copied().unwrap_or(0);
        assert!(
            quantity >= acknowledged_adds,
            "cart {cart}: {acknowledged_adds} adds were acknowledged, {quantity} are stored"
        );
    }
    for cart in &acknowledged.created_carts {
        let found: Option<String> = match store {
            Store::Postgres(pool, _) => {
                sqlx::query_scalar("SELECT id FROM carts WHERE id = $1")
                    .bind(cart)
                    .fetch_optional(pool)
                    .await
            }
            Store::Sqlite { reader, .. } => {
                sqlx::query_scalar("SELECT id FROM carts WHERE id = $1")
                    .bind(cart)
                    .fetch_optional(reader)
                    .await
            }
        }
        .expect("read cart");
        assert!(found.is_some(), "cart {cart} was acknowledged but is not stored");
    }
}

/// A connection of the test's own to the SQLite database, beside the server's.
async fn sqlite_connection(database_url: &str) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let options: sqlx::sqlite::SqliteConnectOptions = database_url.parse().expect("sqlite url");
    sqlx::SqliteConnection::connect_with(&options.busy_timeout(Duration::from_secs(30)))
        .await
        .expect("connect to the SQLite database")
}

/// Makes the database slower while it lives, to widen the windows a hang-up can hit.
struct Slowdown {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Slowdown {
    async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.await.expect("slowdown task");
        }
    }
}

async fn slow_down(store: &backroom::store::Store, database_url: &str) -> Slowdown {
    use backroom::store::Store;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = match store {
        // Every cart update (each add touches its cart) sleeps 2 ms inside its transaction.
        Store::Postgres(pool, _) => {
            sqlx::raw_sql(
                "CREATE FUNCTION test_slow_down() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END $$;
                 CREATE TRIGGER test_slow_down BEFORE UPDATE ON carts
                     FOR EACH ROW EXECUTE FUNCTION test_slow_down();",
            )
            .execute(pool)
            .await
            .expect("install the slowing trigger");
            None
        }
        // The test takes SQLite's write lock for 3 ms out of every 4, so the server's
        // writers wait for it, inside `BEGIN IMMEDIATE`, while their clients hang up.
        Store::Sqlite { .. } => {
            let mut conn = sqlite_connection(database_url).await;
            let mut stopped = stopped;
            Some(tokio::spawn(async move {
                while !*stopped.borrow_and_update() {
                    sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.expect("lock");
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    sqlx::query("COMMIT").execute(&mut conn).await.expect("unlock");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }))
        }
    };
    // On PostgreSQL the trigger stays for the rest of the test: there is nothing to stop.
    Slowdown { stop, task }
}

async fn clients_hanging_up_leave_no_transaction_open(database_url: String) {
    hangups_leave_every_connection_clean(database_url, false).await;
}

async fn clients_hanging_up_on_a_slow_database_leave_no_transaction_open(database_url: String) {
    hangups_leave_every_connection_clean(database_url, true).await;
}

crate::database_tests!(
    clients_hanging_up_leave_no_transaction_open,
    clients_hanging_up_on_a_slow_database_leave_no_transaction_open,
);
