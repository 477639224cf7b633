//! A merchant's webhook receiver on a loopback port: it records every delivery and
//! answers with the status the test sets, and tests await deliveries instead of polling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use tokio::sync::{Mutex, Notify, mpsc};

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: String,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }

    /// Verifies the signature with Standard Webhooks' own library, as a merchant would.
    pub fn verify(&self, secret: &str) {
        let webhook = standardwebhooks::Webhook::new(secret).expect("the secret is a Standard Webhooks secret");
        webhook
            .verify(self.body.as_bytes(), &self.headers)
            .expect("the delivery verifies with the endpoint's secret");
    }
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT/hooks`
    pub url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    status: Arc<AtomicU16>,
    /// While set, requests wait for `release` before answering (a slow endpoint).
    held: Arc<Mutex<Option<Arc<Notify>>>>,
}

impl Receiver {
    /// Starts a receiver that answers 200.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let (sender, deliveries) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let held: Arc<Mutex<Option<Arc<Notify>>>> = Arc::new(Mutex::new(None));
        let answer = status.clone();
        let hold = held.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let sender = sender.clone();
                let answer = answer.clone();
                let hold = hold.clone();
                async move {
                    let _ = sender.send(Delivery { headers, body });
                    let gate = hold.lock().await.clone();
                    if let Some(gate) = gate {
                        gate.notified().await;
                    }
                    let status = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
                    (status, "received")
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            deliveries,
            status,
            held,
        }
    }

    /// Answers every request from now on with `status`.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Makes requests wait, unanswered, until [`Receiver::release`].
    pub async fn hold(&self) {
        *self.held.lock().await = Some(Arc::new(Notify::new()));
    }

    pub async fn release(&self) {
        if let Some(gate) = self.held.lock().await.take() {
            gate.notify_waiters();
        }
    }

    /// The next delivery, waiting at most `within`.
    pub async fn next_within(&mut self, within: Duration) -> Delivery {
        tokio::time::timeout(within, self.deliveries.recv())
            .await
            .expect("a delivery arrives in time")
            .expect("the receiver runs")
    }

    /// The next delivery, waiting at most 10 s.
    pub async fn next(&mut self) -> Delivery {
        self.next_within(Duration::from_secs(10)).await
    }

    /// A delivery already received and not yet taken, if any.
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }
}
