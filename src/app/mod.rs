//! What the API (`http`), the pages (`web`) and the background jobs (`jobs`) share: the
//! application state, and who is calling. They depend on this module and on `domain`,
//! never on each other.

pub mod caching;
pub mod caller;
pub mod client_slots;
pub mod cookies;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;

use crate::domain::checkout::CheckoutSettings;
use crate::domain::events::EventBus;
use crate::domain::payments::Payments;
use crate::mail::Mailer;
use crate::media::MediaStore;
use crate::outbound::Outbound;
use crate::payments::CardForm;
use crate::store::Store;

/// What every handler, page and job can reach: a handle, cloned for every request by each
/// middleware and extractor that takes it. One shared `Arc`, so that a clone is one
/// reference count and not one per part: cloning and dropping the parts (some thirty
/// counters, and the public URL) took 45% of the server's CPU on kept catalog answers.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub payments: Payments,
    /// The checkout page's card form, when Stripe takes payments.
    pub card_form: Option<std::sync::Arc<CardForm>>,
    pub events: EventBus,
    /// Public catalog answers kept in memory while current.
    pub catalog_cache: std::sync::Arc<caching::AnswerCache>,
    /// The shop's settings, kept as long as catalog answers are.
    pub shop: crate::domain::shop::KeptShop,
    /// Where product images' bytes are kept.
    pub media: MediaStore,
    /// Requests to addresses others give (imported image URLs), with their checks.
    pub outbound: Outbound,
    /// Requests to merchants' webhook endpoints, with theirs.
    pub webhook_client: Outbound,
    /// How long a claimed webhook delivery is its worker's: longer than a delivery takes.
    pub webhook_lease: std::time::Duration,
    pub checkout: CheckoutSettings,
    pub idempotency_abandon_seconds: i64,
    pub metrics: PrometheusHandle,
    /// Mark session cookies `Secure`.
    pub secure_cookies: bool,
    pub mailer: Mailer,
    /// The shop's public address, for links in emails.
    pub public_url: String,
    /// Live streams open per client address.
    pub stream_slots: client_slots::ClientSlots,
    /// Flips to true when the server shuts down, ending live streams and jobs so it can.
    pub shutdown: watch::Receiver<bool>,
    /// Set once the server was told to stop: `/readyz` answers 503 while it drains.
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}
