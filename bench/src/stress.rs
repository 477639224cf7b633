//! The stress run of the stock-and-money invariants, larger than the one in `cargo test`:
//! many buyers race for the last units of one variant through a release build of
//! `backroom serve`, then one checkout is sent many times with one Idempotency-Key.
//! It prints what happened and fails if any invariant broke.
//!
//! ```sh
//! cargo build --release && cargo run --release -p backroom-bench --bin stress -- --buyers 2000 --stock 500
//! ```

use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

#[derive(Parser)]
struct Args {
    /// The server binary.
    #[arg(long, default_value = "target/release/backroom")]
    binary: String,
    /// `sqlite://...` or `postgres://...`; default: a new SQLite file in a temporary folder.
    #[arg(long)]
    database_url: Option<String>,
    /// Buyers, each with their own cart holding one unit.
    #[arg(long, default_value_t = 2000)]
    buyers: usize,
    /// Units in stock.
    #[arg(long, default_value_t = 500)]
    stock: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Copies of one checkout sent at once with one Idempotency-Key.
    #[arg(long, default_value_t = 200)]
    duplicates: usize,
}

struct Shop {
    base: String,
    client: reqwest::Client,
}

impl Shop {
    async fn post(&self, path: &str, token: Option<&str>, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    async fn stock(&self, staff: &str, variant: &str) -> (i64, i64) {
        let (_, body) = self
            .post(
                &format!("/v1/admin/inventory/{variant}/adjust"),
                Some(staff),
                None,
                json!({"delta": 0, "reason": "count"}),
            )
            .await;
        (
            body["on_hand"].as_i64().unwrap_or(-1),
            body["reserved"].as_i64().unwrap_or(-1),
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let folder = std::env::temp_dir().join(format!("backroom-stress-{}", std::process::id()));
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/stress.db", folder.display()));
    let (mut server, shop) = start(&args.binary, &url).await?;
    let outcome = run(&args, &url, &shop).await;
    let _ = server.start_kill();
    let _ = server.wait().await;
    let _ = std::fs::remove_dir_all(&folder);
    outcome
}

async fn start(binary: &str, url: &str) -> Result<(Child, Shop), String> {
    let mut create = Command::new(binary)
        .args([
            "admin",
            "create",
            "--email",
            "stress@example.com",
            "--database-url",
            url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run {binary} (build it with `cargo build --release`): {error}"))?;
    let mut stdin = create.stdin.take().ok_or("no stdin")?;
    stdin
        .write_all(b"stress test password\n")
        .await
        .map_err(|e| e.to_string())?;
    drop(stdin);
    create.wait().await.map_err(|e| e.to_string())?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let server = Command::new(binary)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--database-url", url])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let shop = Shop {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    for _ in 0..200 {
        if shop
            .client
            .get(format!("{}/readyz", shop.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok((server, shop));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not become ready".to_owned())
}

async fn run(args: &Args, url: &str, shop: &Shop) -> Result<(), String> {
    let login = json!({"email": "stress@example.com", "password": "stress test password"});
    let staff = shop.post("/v1/auth/login", None, None, login).await.1["token"]
        .as_str()
        .ok_or("login failed")?
        .to_owned();
    let product = json!({"title": "Stress Lantern", "status": "published",
        "variants": [{"sku": "STRESS-1", "price": {"amount": 1999, "currency": "EUR"}, "inventory": args.stock}]});
    let variant = shop.post("/v1/admin/products", Some(&staff), None, product).await.1["variants"][0]["id"]
        .as_str()
        .ok_or("product creation failed")?
        .to_owned();

    let carts: Vec<String> = stream::iter(0..args.buyers)
        .map(|_| async {
            let cart = shop.post("/v1/carts", None, None, json!({})).await.1["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            shop.post(
                &format!("/v1/carts/{cart}/items"),
                None,
                None,
                json!({"variant_id": variant, "quantity": 1}),
            )
            .await;
            cart
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;

    let checkout = json!({"email": "buyer@example.com", "payment": {"token": "tok_visa"},
        "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10117", "country": "DE"}});
    let started = Instant::now();
    let statuses: Vec<u16> = stream::iter(&carts)
        .map(|cart| {
            let (path, body) = (format!("/v1/carts/{cart}/checkout"), checkout.clone());
            async move { shop.post(&path, None, None, body).await }
        })
        .buffer_unordered(args.concurrency)
        .map(|(status, _)| status)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let paid = statuses.iter().filter(|s| **s == 201).count();
    let out_of_stock = statuses.iter().filter(|s| **s == 409).count();
    let other = statuses.len() - paid - out_of_stock;
    let (on_hand, reserved) = shop.stock(&staff, &variant).await;
    println!(
        "race: {} buyers for {} units, concurrency {}",
        args.buyers, args.stock, args.concurrency
    );
    println!(
        "  paid {paid}, out_of_stock {out_of_stock}, other {other}; {:.0} checkouts/s ({:.2} s)",
        statuses.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!("  stock after: on_hand {on_hand}, reserved {reserved}");

    // One checkout, many copies, one key.
    let cart = shop.post("/v1/carts", None, None, json!({})).await.1["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    shop.post(
        &format!("/v1/admin/inventory/{variant}/adjust"),
        Some(&staff),
        None,
        json!({"delta": 1, "reason": "restock"}),
    )
    .await;
    shop.post(
        &format!("/v1/carts/{cart}/items"),
        None,
        None,
        json!({"variant_id": variant, "quantity": 1}),
    )
    .await;
    let copies: Vec<u16> = stream::iter(0..args.duplicates)
        .map(|_| {
            let (path, body) = (format!("/v1/carts/{cart}/checkout"), checkout.clone());
            async move { shop.post(&path, None, Some("stress-key"), body).await }
        })
        .buffer_unordered(args.concurrency)
        .map(|(status, _)| status)
        .collect()
        .await;
    let created = copies.iter().filter(|s| **s == 201).count();
    let in_use = copies.iter().filter(|s| **s == 409).count();
    println!(
        "duplicates: {} copies of one checkout: 201 x{created}, 409 in use x{in_use}",
        args.duplicates
    );

    let store = backroom::store::Store::connect(url).await.map_err(|e| e.to_string())?;
    let captures = backroom::store::test_provider::count_captures(&store)
        .await
        .map_err(|e| e.to_string())?;
    println!("provider captures: {captures}");

    let expected_paid = usize::try_from(args.stock).unwrap_or(0).min(args.buyers);
    let mut broken = Vec::new();
    if paid != expected_paid {
        broken.push(format!("{paid} paid, expected {expected_paid}"));
    }
    if other != 0 {
        broken.push(format!("{other} responses neither 201 nor 409"));
    }
    if (on_hand, reserved) != (args.stock - paid as i64, 0) {
        broken.push(format!("stock ended at on_hand {on_hand} reserved {reserved}"));
    }
    if created + in_use != args.duplicates || created == 0 {
        broken.push("duplicate checkouts got other answers".to_owned());
    }
    if captures != paid as i64 + 1 {
        broken.push(format!("{captures} captures for {} orders", paid + 1));
    }
    if broken.is_empty() {
        println!("every invariant held");
        Ok(())
    } else {
        Err(broken.join("; "))
    }
}
