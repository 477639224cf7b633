//! The running server: binds, serves the router, runs background jobs, and shuts down
//! gracefully (in-flight requests finish, live streams end).

mod connections;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use connections::ConnectionLimits;

use crate::app::caching::{self, AnswerCache};
use crate::app::client_slots::ClientSlots;
use crate::app::{AppState, Shared};
use crate::domain::checkout::CheckoutSettings;
use crate::domain::events::{self, EventBus};
use crate::domain::shop::KeptShop;
use crate::http::{self, HttpSettings, RateLimit};
use crate::mail::Mailer;
use crate::media::{MediaLocation, MediaStore};
use crate::outbound::{Outbound, Reach};
use crate::payments::{PaymentSettings, TestProviderFaults};
use crate::store::Store;
use crate::store::dialect::Notifications;
use crate::{jobs, telemetry, web};

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub http: HttpSettings,
    pub connections: ConnectionLimits,
    pub checkout: CheckoutSettings,
    /// An idempotency key whose first request has not finished after this long is released
    /// to a retry: its process died.
    pub idempotency_abandon_seconds: i64,
    /// How often the background job settles stale attempts and deletes expired records.
    pub jobs_interval: Duration,
    /// How emails leave: SMTP, or the log in development.
    pub mailer: Mailer,
    /// The shop's public address, for links in emails.
    pub public_url: String,
    /// Which provider takes payments, and when it captures.
    pub payments: PaymentSettings,
    /// Where product images are kept.
    pub media: MediaLocation,
    /// Let requests to addresses others give (imported image URLs) reach loopback and
    /// private networks.
    pub outbound_allow_private: bool,
    /// Let webhook endpoints be `http` URLs on this machine's loopback
    /// (`BACKROOM_WEBHOOKS_ALLOW_LOOPBACK=1`): for development and tests.
    pub webhooks_allow_loopback: bool,
    /// How long a claimed webhook delivery belongs to its worker before another process may
    /// take it over (a worker that died): longer than one delivery's 15 s.
    pub webhook_lease: Duration,
    /// After SIGTERM, how long the server goes on serving with `/readyz` answering 503, so
    /// that load balancers stop sending it requests before it stops accepting them.
    pub shutdown_grace: Duration,
    /// Misbehaviour of the built-in test provider; only tests set it, in-process.
    pub test_provider_faults: TestProviderFaults,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            http: HttpSettings {
                request_timeout: Duration::from_secs(20),
                rate_limit: Some(RateLimit {
                    per_second: 20,
                    burst: 100,
                }),
                cors_origins: Vec::new(),
                hsts: false,
                secure_cookies: false,
                max_streams_per_client: 16,
                body_timeout: Duration::from_secs(10),
            },
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(10),
                per_client: Some(256),
            },
            checkout: CheckoutSettings::default(),
            idempotency_abandon_seconds: 30,
            jobs_interval: Duration::from_secs(1),
            mailer: Mailer::Log { with_text: true },
            public_url: "http://127.0.0.1:8080".to_owned(),
            payments: PaymentSettings::default(),
            media: MediaLocation::default(),
            outbound_allow_private: false,
            webhooks_allow_loopback: false,
            webhook_lease: Duration::from_secs(60),
            shutdown_grace: Duration::ZERO,
            test_provider_faults: TestProviderFaults::default(),
        }
    }
}

impl ServerOptions {
    /// The defaults, with the general rate limit off: tests send many requests from one
    /// address (the tests of the limit turn it back on).
    pub fn for_tests() -> Self {
        let mut options = ServerOptions::default();
        options.http.rate_limit = None;
        options
    }
}

/// How long a stopping server waits for background work under way: a webhook delivery
/// takes at most 15 s.
const JOBS_FINISH: Duration = Duration::from_secs(20);

pub struct Server {
    listener: TcpListener,
    /// What hears every committed notification (on PostgreSQL, every process's).
    notifications: Option<Notifications>,
    router: Router,
    state: AppState,
    options: ServerOptions,
    shutdown: watch::Sender<bool>,
}

impl Server {
    pub async fn bind(addr: SocketAddr, store: Store, options: ServerOptions) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let (shutdown, shutdown_signal) = watch::channel(false);
        events::register_shapes(http::events::shape_of);
        let notifications = Notifications::listen(&store).await;
        let events = EventBus::default();
        let catalog_changes = events.catalog_changes();
        let heard = catalog_changes.clone();
        // This process's own writes, as they commit; other processes' come through `events`.
        store.observe_commits(move |payload| heard.observe_payload(payload));
        let state = AppState::new(Shared {
            payments: options
                .payments
                .build(&store, options.test_provider_faults, options.checkout.provider_timeout)
                .map_err(std::io::Error::other)?,
            card_form: options.payments.card_form().map(std::sync::Arc::new),
            events,
            shop: KeptShop::new(catalog_changes.clone()),
            catalog_cache: std::sync::Arc::new(AnswerCache::new(catalog_changes, caching::CAPACITY_BYTES)),
            media: MediaStore::open(&options.media).map_err(std::io::Error::other)?,
            outbound: Outbound::new(if options.outbound_allow_private {
                Reach::Everywhere
            } else {
                Reach::Public
            }),
            webhook_client: Outbound::new(if options.webhooks_allow_loopback {
                Reach::PublicAndLoopback
            } else {
                Reach::Public
            }),
            webhook_lease: options.webhook_lease,
            store,
            checkout: options.checkout,
            idempotency_abandon_seconds: options.idempotency_abandon_seconds,
            secure_cookies: options.http.secure_cookies,
            mailer: options.mailer.clone(),
            stream_slots: ClientSlots::new(options.http.max_streams_per_client.max(1)),
            public_url: options.public_url.clone(),
            metrics: telemetry::metrics_handle(),
            shutdown: shutdown_signal,
            draining: std::sync::Arc::default(),
        });
        let router = http::application(
            http::routes().merge(web::router()),
            http::streaming_routes(),
            not_found,
            state.clone(),
            &options.http,
        );
        Ok(Server {
            listener,
            notifications,
            router,
            state,
            options,
            shutdown,
        })
    }

    /// The state its handlers and jobs share (tests run the jobs with it).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `signal` completes, then (after the shutdown grace, answering
    /// not-ready meanwhile) stops accepting and lets in-flight requests finish.
    pub async fn run(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let mut jobs = jobs::spawn(self.state.clone(), self.options.jobs_interval);
        let notifications = self
            .notifications
            .map(|notifications| tokio::spawn(self.state.events.clone().forward(notifications)));
        let shutdown = self.shutdown;
        let draining = self.state.draining.clone();
        let grace = self.options.shutdown_grace;
        let result = connections::serve(self.listener, self.router, self.options.connections, async move {
            signal.await;
            draining.store(true, std::sync::atomic::Ordering::SeqCst);
            if !grace.is_zero() {
                tracing::info!(
                    grace_secs = grace.as_secs_f64(),
                    "not ready: serving on while load balancers notice"
                );
                tokio::time::sleep(grace).await;
            }
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = shutdown.send(true);
        })
        .await;
        // Background work under way (a webhook delivery, an email) gets a moment to finish.
        if tokio::time::timeout(JOBS_FINISH, &mut jobs).await.is_err() {
            jobs.abort();
        }
        if let Some(notifications) = notifications {
            notifications.abort();
        }
        result
    }
}

/// An unknown address: a page for a browser outside the API, else a 404 problem.
async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> axum::response::Response {
    if web::is_page_request(uri.path(), &headers) {
        web::not_found_page()
    } else {
        http::not_found().await
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn termination_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
