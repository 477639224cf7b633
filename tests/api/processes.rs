//! Several `backroom serve` processes on one database, run as an operator runs them: a
//! process stopped with SIGTERM answers not-ready and finishes what it started; on
//! PostgreSQL, three processes share events and webhook deliveries (one killed
//! mid-delivery), a rolling restart under load loses no request, and a catalog change
//! made through one process is served by another within a second.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::catalog_cache::{available, product_json};
use crate::support::process::{admin_create, start_server};
use crate::support::receiver::Receiver;
use crate::support::*;

const SERVING: [(&str, &str); 3] = [
    ("BACKROOM_RATE_LIMITS", "off"),
    ("BACKROOM_WEBHOOKS_ALLOW_LOOPBACK", "1"),
    // A killed process's claims go to the others after 3 s instead of a minute.
    ("BACKROOM_WEBHOOK_LEASE_SECS", "3"),
];

async fn serve(database_url: &str, args: &[&str]) -> (Child, Shop) {
    start_server(database_url, args, &SERVING).await
}

async fn admin_token(database_url: &str, shop: &Shop) -> String {
    let email = unique_email("admin");
    let created = admin_create(database_url, &email, PASSWORD).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    shop.login(&email, PASSWORD).await
}

/// A receiver that holds every request until released, registered through `shop` for
/// `product.created`; returns it with the endpoint's id.
async fn held_receiver(shop: &Shop, staff: &str) -> (Receiver, String) {
    let receiver = Receiver::start().await;
    receiver.hold().await;
    let created = shop
        .post(
            "/v1/admin/webhooks",
            Some(staff),
            json!({"url": receiver.url, "events": ["product.created"]}),
        )
        .await;
    (receiver, id_of(created.assert_status(201)))
}

async fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("running");
    let sent = Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .await
        .expect("send a signal");
    assert!(sent.success());
}

async fn draining_answers_not_ready_and_finishes_what_it_started(database_url: String) {
    let (child, shop) = serve(&database_url, &["--shutdown-grace-secs", "2"]).await;
    shop.get("/readyz", None).await.assert_status(200);

    // A request whose body is still on its way when the signal comes.
    let (sender, body) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let request = shop
        .client
        .post(shop.url("/v1/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(tokio_stream_of(body)))
        .send();
    let in_flight = tokio::spawn(request);
    let email = unique_email("draining");
    let text = json!({"email": email, "password": PASSWORD}).to_string();
    let (first, rest) = text.split_at(10);
    sender.send(Ok(first.as_bytes().to_vec())).await.expect("send");

    signal(&child, "-TERM").await;
    // Not ready while it drains; still serving meanwhile.
    loop {
        let ready = shop.get("/readyz", None).await;
        if ready.status == 503 {
            ready.assert_problem(503, "not_ready");
            break;
        }
        tokio::task::yield_now().await;
    }
    shop.get("/healthz", None).await.assert_status(200);
    sender.send(Ok(rest.as_bytes().to_vec())).await.expect("send");
    drop(sender);
    let answered = in_flight
        .await
        .expect("join")
        .expect("the request in flight is answered");
    assert_eq!(answered.status().as_u16(), 201, "the request in flight finished");

    let mut child = child;
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("it stops after its grace")
        .expect("wait");
    assert!(exit.success(), "{exit}");
}

async fn a_delivery_under_way_at_sigterm_finishes_before_the_process_stops(database_url: String) {
    let (child, shop) = serve(&database_url, &[]).await;
    let staff = admin_token(&database_url, &shop).await;
    let (mut receiver, endpoint_id) = held_receiver(&shop, &staff).await;
    shop.published_product(&staff, 700, 3).await;
    receiver.next().await;
    signal(&child, "-TERM").await;
    receiver.release().await;
    let mut child = child;
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops once the delivery is recorded")
        .expect("wait");
    assert!(exit.success(), "{exit}");

    // Recorded as delivered, once: nothing is sent again by the next process.
    let (_next, shop) = serve(&database_url, &[]).await;
    let listed = shop
        .get(&format!("/v1/admin/webhooks/{endpoint_id}/deliveries"), Some(&staff))
        .await;
    let listed = listed.assert_status(200)["data"].as_array().expect("data").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "succeeded");
    assert_eq!(listed[0]["attempts"], 1);
    assert!(receiver.try_next().is_none(), "no second delivery");
}

fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    async_stream::stream! {
        while let Some(chunk) = receiver.recv().await {
            yield chunk;
        }
    }
}

async fn three_processes_share_events_and_deliveries(database_url: String) {
    if database_url.starts_with("sqlite:") {
        eprintln!("several processes share a PostgreSQL database; this test runs on PostgreSQL only");
        return;
    }
    // C alone first, so that the delivery under way when it is killed is its own.
    let (c, shop_c) = serve(&database_url, &[]).await;
    let staff = admin_token(&database_url, &shop_c).await;
    let (mut receiver, endpoint_id) = held_receiver(&shop_c, &staff).await;
    let mut products = Vec::new();
    for _ in 0..10 {
        products.push(shop_c.published_product(&staff, 700, 3).await.0);
    }
    receiver.next().await;
    signal(&c, "-KILL").await;
    receiver.release().await;
    drop(c);

    let (_a, shop_a) = serve(&database_url, &[]).await;
    let (_b, shop_b) = serve(&database_url, &[]).await;

    // Every event is delivered, once each after deduplication by webhook-id; the one C
    // was sending when it died perhaps twice.
    let expected: BTreeSet<String> = {
        let log = shop_a
            .get("/v1/admin/event-log?type=product.created&limit=100", Some(&staff))
            .await;
        log.assert_status(200)["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|event| event["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(expected.len(), products.len());
    let mut raw: HashMap<String, usize> = HashMap::new();
    let started = Instant::now();
    while raw.len() < expected.len() {
        let delivery = receiver.next_within(Duration::from_secs(30)).await;
        *raw.entry(delivery.header("webhook-id").to_owned()).or_default() += 1;
    }
    let received: BTreeSet<String> = raw.keys().cloned().collect();
    assert_eq!(received, expected, "every event reached the receiver");
    let total: usize = raw.values().sum();
    eprintln!(
        "{} events, {total} raw deliveries (the first counts the one C was sending when it died), all within {:?}",
        expected.len(),
        started.elapsed()
    );
    assert!(
        total <= expected.len() + 1,
        "no event but the one under way is sent twice: {raw:?}"
    );
    loop {
        let listed = shop_b
            .get(
                &format!("/v1/admin/webhooks/{endpoint_id}/deliveries?limit=100"),
                Some(&staff),
            )
            .await;
        let listed = listed.assert_status(200)["data"].as_array().expect("data").clone();
        if listed.iter().all(|delivery| delivery["status"] == "succeeded") {
            assert_eq!(listed.len(), expected.len());
            break;
        }
        tokio::task::yield_now().await;
    }

    // A staff stream on A sees an order paid through B within a second.
    let mut stream = shop_a.events("/v1/admin/events", Some(&staff)).await;
    let (customer, _) = shop_b.customer().await;
    let variant = products[0]["variants"][0]["id"].as_str().expect("variant").to_owned();
    let cart = shop_b.cart_with(Some(&customer), &variant, 1).await;
    let order = shop_b.checkout(Some(&customer), &id_of(&cart), "tok_visa").await;
    let paid_at = Instant::now();
    let order = order.assert_status(201).clone();
    let seen = loop {
        let next = stream.next_event().await;
        if next.event.as_deref() == Some("order.paid") {
            break Instant::now();
        }
    };
    let event_delay = seen.duration_since(paid_at);
    eprintln!("order.paid reached a stream on another process {event_delay:?} after the checkout answered");
    assert!(event_delay < Duration::from_secs(1), "{event_delay:?}");
    assert!(order["id"].is_string());
}

/// A client in front of several processes, as a load balancer is: round robin, and a
/// request that got no answer goes to the next process. That is safe for a GET, and for a
/// POST only with an `Idempotency-Key`, which every POST here carries: a kept-alive
/// connection the old process closes just as a request is sent on it is HTTP/1.1's own
/// race, and the key is how a retry of a request that did arrive changes nothing twice.
struct Balancer {
    shops: tokio::sync::RwLock<Vec<Shop>>,
}

impl Balancer {
    /// The status of the answer, and how many tries it took.
    async fn send(&self, turn: usize, path: &str, body: Option<Value>) -> (u16, usize) {
        let key = backroom::domain::ids::random_suffix();
        for attempt in 0..6 {
            let shops = self.shops.read().await;
            let shop = &shops[(turn + attempt) % shops.len()];
            let request = match &body {
                Some(body) => shop
                    .client
                    .post(shop.url(path))
                    .header("idempotency-key", &key)
                    .json(body),
                None => shop.client.get(shop.url(path)),
            };
            match request.send().await {
                Ok(response) => return (response.status().as_u16(), attempt + 1),
                Err(error) => eprintln!("no answer from {} ({error:?}); trying the next process", shop.base_url),
            }
        }
        panic!("a request was lost: no process answered it in 6 tries")
    }
}

async fn a_rolling_restart_under_load_loses_no_request(database_url: String) {
    if database_url.starts_with("sqlite:") {
        eprintln!("several processes share a PostgreSQL database; this test runs on PostgreSQL only");
        return;
    }
    let grace = ["--shutdown-grace-secs", "1"];
    let (a, shop_a) = serve(&database_url, &grace).await;
    let (b, shop_b) = serve(&database_url, &grace).await;
    let staff = admin_token(&database_url, &shop_a).await;
    shop_a.published_product(&staff, 300, 1_000_000).await;
    let balancer = Arc::new(Balancer {
        shops: tokio::sync::RwLock::new(vec![shop_a, shop_b]),
    });
    let loading = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for client in 0..4 {
        let balancer = balancer.clone();
        let loading = loading.clone();
        clients.push(tokio::spawn(async move {
            let mut answers: Vec<(u16, usize)> = Vec::new();
            let mut turn = client;
            while loading.load(Ordering::SeqCst) {
                answers.push(balancer.send(turn, "/v1/products?limit=5", None).await);
                answers.push(balancer.send(turn + 1, "/v1/carts", Some(json!({}))).await);
                turn += 1;
            }
            answers
        }));
    }

    // Restart each process in turn: the new one joins, the old one is told to stop, keeps
    // serving through its grace (not ready), then refuses connections (the balancer sends
    // those requests on) and finishes what it has; once it exited it leaves the rotation.
    let mut restarted = Vec::new();
    for old in [a, b] {
        let (fresh, shop) = serve(&database_url, &grace).await;
        balancer.shops.write().await.push(shop);
        restarted.push(fresh);
        signal(&old, "-TERM").await;
        stop_when_exited(old).await;
        balancer.shops.write().await.remove(0);
    }
    loading.store(false, Ordering::SeqCst);
    let (mut answered, mut retried) = (0, 0);
    for client in clients {
        for (status, tries) in client.await.expect("client") {
            assert!(
                (200..300).contains(&status),
                "every request is answered with success, got {status}"
            );
            answered += 1;
            retried += usize::from(tries > 1);
        }
    }
    eprintln!("{answered} requests answered across a rolling restart of two processes, {retried} on a second try");
    assert!(answered > 20, "{answered}");
}

async fn stop_when_exited(mut child: Child) {
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("a process stops within its grace and in-flight requests")
        .expect("wait");
    assert!(exit.success(), "{exit}");
}

/// On PostgreSQL, a change made through one process is what another serves within a
/// second, though it kept the answer before: stock, a product's fields, the shop's
/// currencies.
async fn another_process_serves_a_change_within_a_second(database_url: String) {
    if database_url.starts_with("sqlite:") {
        eprintln!("several processes share a PostgreSQL database; this test runs on PostgreSQL only");
        return;
    }
    let (_a, shop_a) = serve(&database_url, &[]).await;
    let (_b, shop_b) = serve(&database_url, &[]).await;
    let staff = admin_token(&database_url, &shop_b).await;
    let (product, variant) = shop_b.published_product(&staff, 900, 8).await;
    let id = id_of(&product);
    assert_eq!(available(&product_json(&shop_a, &id).await), 8, "A keeps its answer");

    shop_b
        .post(
            &format!("/v1/admin/inventory/{variant}/adjust"),
            Some(&staff),
            json!({"delta": -2, "reason": "counted"}),
        )
        .await
        .assert_status(200);
    let changed = Instant::now();
    // Read A until it serves the change: each read is a request, there is no waiting.
    while available(&product_json(&shop_a, &id).await) != 6 {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "A still serves the old stock after a second"
        );
    }
    shop_b
        .patch(
            &format!("/v1/admin/products/{id}"),
            Some(&staff),
            json!({"title": "Seen Everywhere"}),
        )
        .await
        .assert_status(200);
    let changed = Instant::now();
    while product_json(&shop_a, &id).await["title"] != "Seen Everywhere" {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "A still serves the old title after a second"
        );
    }
    eprintln!("another process served the change after {:?}", changed.elapsed());

    let in_usd = format!("/v1/products/{id}?currency=USD");
    shop_a.get(&in_usd, None).await.assert_status(422);
    shop_b
        .patch("/v1/admin/shop", Some(&staff), json!({"currencies": ["EUR", "USD"]}))
        .await
        .assert_status(200);
    let changed = Instant::now();
    while shop_a.get(&in_usd, None).await.status != 200 {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "A still refuses the shop's new currency after a second"
        );
    }
}

crate::database_tests!(
    another_process_serves_a_change_within_a_second,
    draining_answers_not_ready_and_finishes_what_it_started,
    a_delivery_under_way_at_sigterm_finishes_before_the_process_stops,
    three_processes_share_events_and_deliveries,
    a_rolling_restart_under_load_loses_no_request,
);
