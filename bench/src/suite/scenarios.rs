//! The flows a shop's visitors and staff go through, as load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::load::{self, Step, Summary, timed};
use super::seed::Catalog;
use super::server::{STAFF_EMAIL, STAFF_PASSWORD, Server};

/// A shop under test: its address, a client, a staff token and what was seeded.
#[derive(Clone)]
pub struct Shop {
    pub base: String,
    pub client: reqwest::Client,
    pub staff: String,
    pub catalog: Arc<Catalog>,
}

impl Shop {
    pub async fn open(base: &str, catalog: Catalog) -> Result<Shop, String> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(2048)
            .build()
            .map_err(|e| e.to_string())?;
        let login = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": STAFF_EMAIL, "password": STAFF_PASSWORD}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = login.json().await.map_err(|e| e.to_string())?;
        let staff = body["token"].as_str().ok_or("staff login failed")?.to_owned();
        Ok(Shop {
            base: base.to_owned(),
            client,
            staff,
            catalog: Arc::new(catalog),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::RequestBuilder {
        let request = self.client.post(self.url(path)).json(&body);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn variant(&self, n: u64) -> &str {
        &self.catalog.variant_ids[(n as usize * 7919) % self.catalog.variant_ids.len()]
    }

    fn slug(&self, n: u64) -> &str {
        &self.catalog.slugs[(n as usize * 104_729) % self.catalog.slugs.len()]
    }

    /// A new cart holding one unit of `variant`: two requests.
    async fn cart_with(&self, token: Option<&str>, variant: &str) -> (Vec<Step>, String) {
        let (created, cart) = timed(self.post("/v1/carts", token, json!({}))).await;
        let cart_id = cart["id"].as_str().unwrap_or_default().to_owned();
        let (added, _) = timed(self.post(
            &format!("/v1/carts/{cart_id}/items"),
            token,
            json!({"variant_id": variant, "quantity": 1}),
        ))
        .await;
        (vec![created, added], cart_id)
    }

    async fn checkout(&self, token: Option<&str>, cart_id: &str) -> Step {
        let body = json!({
            "email": "bench@example.com",
            "payment": {"token": "tok_visa"},
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10117", "country": "DE"}
        });
        timed(self.post(&format!("/v1/carts/{cart_id}/checkout"), token, body))
            .await
            .0
    }

    /// Units of a variant on hand and reserved.
    pub async fn stock(&self, variant: &str) -> Result<(i64, i64), String> {
        let (_, body) = timed(self.post(
            &format!("/v1/admin/inventory/{variant}/adjust"),
            Some(&self.staff),
            json!({"delta": 0, "reason": "count"}),
        ))
        .await;
        match (body["on_hand"].as_i64(), body["reserved"].as_i64()) {
            (Some(on_hand), Some(reserved)) => Ok((on_hand, reserved)),
            _ => Err(format!("could not read the stock: {body}")),
        }
    }
}

pub const LIST: &str = "catalog: list 20";
pub const LIST_UNKEPT: &str = "catalog: list 20, not kept";
pub const PRODUCT: &str = "catalog: product by slug";
pub const PRODUCT_UNKEPT: &str = "catalog: product by slug, not kept";
pub const SEARCH: &str = "catalog: search";
/// A search answered from the database every time, as a search nobody made before is.
pub const SEARCH_UNKEPT: &str = "catalog: search, not kept";
pub const ONE_CUSTOMER: &str = "one customer: cart, item, checkout";

/// Asks the server for a fresh answer rather than one it kept.
const FRESH: &[&str] = &["Cache-Control: no-cache"];

/// The catalog reads, each measured by oha on its own: a list page, a search and a
/// product, each as kept by the server and as read from the database.
pub fn catalog_reads(shop: &Shop) -> [(&'static str, String, &'static [&'static str]); 6] {
    let list = shop.url("/v1/products?limit=20");
    let search = shop.url("/v1/products?limit=20&q=copper");
    let product = shop.url(&format!("/v1/products/{}", shop.slug(1)));
    [
        (LIST, list.clone(), &[]),
        (LIST_UNKEPT, list, FRESH),
        (SEARCH, search.clone(), &[]),
        (SEARCH_UNKEPT, search, FRESH),
        (PRODUCT, product.clone(), &[]),
        (PRODUCT_UNKEPT, product, FRESH),
    ]
}

/// Guests create a cart, add an item, and change its quantity.
pub async fn cart(shop: &Shop, users: usize, duration: Duration) -> Summary {
    let shop = shop.clone();
    let counter = Arc::new(AtomicU64::new(0));
    load::closed_loop(users, duration, move |_| {
        let (shop, n) = (shop.clone(), counter.fetch_add(1, Ordering::Relaxed));
        async move {
            let (mut steps, cart_id) = shop.cart_with(None, shop.variant(n)).await;
            let (cart, _) = timed(shop.client.get(shop.url(&format!("/v1/carts/{cart_id}")))).await;
            steps.push(cart);
            steps
        }
    })
    .await
    .0
}

pub struct CheckoutRun {
    pub summary: Summary,
    pub checkouts_per_second: f64,
    /// Units missing or extra in the stock count after the run (0: nothing oversold).
    pub stock_discrepancy: i64,
}

/// One signed-in customer per virtual user of the checkout scenario (a shopper signs in
/// once, not once per purchase), registered before its clock starts.
pub async fn register_buyers(shop: &Shop, users: usize) -> Result<Vec<String>, String> {
    let mut tokens = Vec::with_capacity(users);
    for user in 0..users {
        let email = format!("buyer-{user}-{}@example.com", std::process::id());
        let body = json!({"email": email, "password": "bench password 1"});
        let (_, answer) = timed(shop.post("/v1/auth/register", None, body)).await;
        tokens.push(answer["token"].as_str().ok_or("register failed")?.to_owned());
    }
    Ok(tokens)
}

/// Signed-in customers buy one unit of the same variant, again and again: cart, item,
/// checkout. Afterwards the stock must account for every unit sold, none left reserved.
pub async fn checkout(shop: &Shop, tokens: Vec<String>, duration: Duration) -> Result<CheckoutRun, String> {
    let users = tokens.len();
    let variant = shop.variant(0).to_owned();
    let (before, _) = shop.stock(&variant).await?;
    let tokens = Arc::new(tokens);
    let started = Instant::now();
    let (summary, completed) = {
        let shop = shop.clone();
        let variant = variant.clone();
        load::closed_loop(users, duration, move |user| {
            let (shop, tokens, variant) = (shop.clone(), tokens.clone(), variant.clone());
            async move {
                let token = tokens[user].as_str();
                let (mut steps, cart_id) = shop.cart_with(Some(token), &variant).await;
                steps.push(shop.checkout(Some(token), &cart_id).await);
                steps
            }
        })
        .await
    };
    let elapsed = started.elapsed();
    let (after, reserved) = shop.stock(&variant).await?;
    Ok(CheckoutRun {
        summary,
        checkouts_per_second: completed as f64 / elapsed.as_secs_f64(),
        stock_discrepancy: (before - after - completed as i64).abs() + reserved,
    })
}

/// One signed-in customer at a time fills a cart and checks out, `rate` times a second
/// (rarely overlapping): each latency is the whole purchase, its three requests together,
/// from its scheduled start.
pub async fn one_customer(shop: &Shop, token: String, rate: f64, duration: Duration) -> Summary {
    let (shop, token) = (shop.clone(), Arc::new(token));
    load::open_loop(rate, duration, move |n| {
        let (shop, token) = (shop.clone(), token.clone());
        async move {
            let (steps, cart_id) = shop.cart_with(Some(&token), shop.variant(n)).await;
            let paid = shop.checkout(Some(&token), &cart_id).await;
            steps.iter().all(|(_, ok)| *ok) && paid.1
        }
    })
    .await
}

/// 80% browsing, 15% cart, 5% checkout (as guests), offered at `rate` operations per
/// second. An operation is one visitor action: a page of products, a product, a search;
/// a cart with an item; or a cart, an item and a checkout.
pub async fn mixed(shop: &Shop, rate: f64, duration: Duration) -> Summary {
    let shop = shop.clone();
    load::open_loop(rate, duration, move |n| {
        let shop = shop.clone();
        async move {
            match n % 20 {
                0 => {
                    let (steps, cart_id) = shop.cart_with(None, shop.variant(n)).await;
                    let paid = shop.checkout(None, &cart_id).await;
                    steps.iter().all(|(_, ok)| *ok) && paid.1
                }
                1..=3 => shop.cart_with(None, shop.variant(n)).await.0.iter().all(|(_, ok)| *ok),
                _ => {
                    let path = match n % 3 {
                        0 => format!(
                            "/v1/products?limit=20&category={}",
                            super::seed::CATEGORIES[(n % 5) as usize]
                        ),
                        1 => format!("/v1/products/{}", shop.slug(n)),
                        _ => "/v1/products?limit=20&q=linen".to_owned(),
                    };
                    timed(shop.client.get(shop.url(&path))).await.0.1
                }
            }
        }
    })
    .await
}

pub struct LiveRun {
    /// From the staff action's start to each subscriber having the event.
    pub delivery: Summary,
    pub rss_before: u64,
    pub rss_with_subscribers: u64,
}

/// `subscribers` staff streams on `/v1/admin/events`; one order is fulfilled and the time
/// until every stream has the event is measured.
pub async fn live_updates(shop: &Shop, server: &Server, subscribers: usize) -> Result<LiveRun, String> {
    let (steps, cart_id) = shop.cart_with(None, shop.variant(3)).await;
    if !steps.iter().all(|(_, ok)| *ok) {
        return Err("could not fill a cart".to_owned());
    }
    let (_, order) = timed(shop.post(
        &format!("/v1/carts/{cart_id}/checkout"),
        None,
        json!({"email": "live@example.com", "payment": {"token": "tok_visa"},
               "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10117", "country": "DE"}}),
    ))
    .await;
    let order_id = order["id"].as_str().ok_or("checkout failed")?.to_owned();

    let rss_before = server.memory().0;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(subscribers);
    let mut streams = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let (shop, ready, order_id) = (shop.clone(), ready_tx.clone(), order_id.clone());
        streams.push(tokio::spawn(async move {
            let request = shop.client.get(shop.url("/v1/admin/events")).bearer_auth(&shop.staff);
            let Ok(mut response) = request.send().await else {
                let _ = ready.send(false).await;
                return None;
            };
            let _ = ready.send(response.status().is_success()).await;
            drop(ready);
            let mut seen = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("order.fulfilled") && seen.contains(&order_id) {
                    return Some(Instant::now());
                }
            }
            None
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    for _ in 0..subscribers {
        match tokio::time::timeout(Duration::from_secs(30), ready_rx.recv()).await {
            Ok(Some(ok)) => connected += usize::from(ok),
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_with_subscribers = server.memory().0;

    let started = Instant::now();
    let (fulfilled, answer) = timed(shop.post(
        &format!("/v1/admin/orders/{order_id}/fulfill"),
        Some(&shop.staff),
        json!({"tracking_number": "BENCH-1"}),
    ))
    .await;
    if !fulfilled.1 {
        return Err(format!("fulfil failed: {answer}"));
    }
    let mut latencies = Vec::with_capacity(subscribers);
    eprintln!("   {connected} of {subscribers} live streams connected");
    // Streams that never connected end without the event: counted once, below.
    let mut missed = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for stream in streams {
        let abort = stream.abort_handle();
        match tokio::time::timeout_at(deadline, stream).await {
            Ok(Ok(Some(received))) => latencies.push(received.saturating_duration_since(started)),
            _ => {
                abort.abort();
                missed += 1;
            }
        }
    }
    let elapsed = latencies.iter().max().copied().unwrap_or_default();
    Ok(LiveRun {
        delivery: Summary::of(latencies, missed, elapsed),
        rss_before,
        rss_with_subscribers,
    })
}
