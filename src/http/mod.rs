//! The HTTP layer: routes, extractors, request and response bodies, problem+json, OpenAPI.
//!
//! Handlers extract, call one domain operation and map its result; they hold no SQL and
//! no business rules.

mod access;
mod addresses;
mod admin_catalog;
mod admin_orders;
mod auth;
mod carts;
mod catalog;
mod catalog_csv;
mod content;
mod discounts;
pub mod events;
pub mod extract;
mod idempotency;
pub mod images;
mod middleware;
pub mod openapi;
mod ops;
mod orders;
mod payments;
pub mod problem;
pub mod shapes;
mod shipping_options;
mod shop;
mod strict_json;
mod tax_rates;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

/// Request bodies above this are refused with 413 (contract: Conventions).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A 201 Created with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// Runs an operation that talks to the payment provider on its own task, so that a
/// client hanging up cannot cancel it halfway between its transactions.
pub(crate) async fn detached<T: Send + 'static>(
    operation: impl std::future::Future<Output = crate::domain::DomainResult<T>> + Send + 'static,
) -> Result<T, problem::ApiError> {
    match tokio::spawn(operation).await {
        Ok(result) => Ok(result?),
        Err(error) => Err(crate::domain::DomainError::Internal(format!("operation task failed: {error}")).into()),
    }
}

/// How the HTTP layer is set up (from `ServerOptions`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Requests (other than live streams) taking longer are answered 503.
    pub request_timeout: Duration,
    /// The general per-client limit; `None` turns it off (load tests, benchmarks).
    pub rate_limit: Option<RateLimit>,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (when TLS is terminated in front of Backroom).
    pub hsts: bool,
    /// Mark session cookies `Secure`: always, unless serving plain HTTP on loopback.
    pub secure_cookies: bool,
    /// Live streams (SSE) one client address may hold open at once.
    pub max_streams_per_client: usize,
    /// A request body must have arrived whole within this long of the request's start
    /// (else 408); shorter than `request_timeout`, so a slow sender is the client's error.
    pub body_timeout: Duration,
}

/// A per-client-address token bucket: `per_second` requests sustained, `burst` at once.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// The API's routes, each answered within the request time limit.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(ops::router())
        .merge(auth::router())
        .merge(addresses::router())
        .merge(catalog::router())
        .merge(carts::router())
        .merge(orders::router())
        .merge(payments::router())
        .merge(admin_catalog::router())
        .merge(images::router())
        .merge(catalog_csv::router())
        .merge(admin_orders::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(access::router())
        .merge(shop::router())
        .merge(shipping_options::router())
        .merge(tax_rates::router())
        .merge(discounts::router())
        .merge(content::router())
}

/// The larger body a path takes (an image upload, a catalog import); the idempotency
/// layer, which reads bodies before routing, asks.
pub(crate) fn large_body_limit(path: &str) -> Option<usize> {
    if images::is_upload(path) {
        Some(images::UPLOAD_BODY_LIMIT)
    } else if path == catalog_csv::IMPORT_PATH {
        Some(catalog_csv::IMPORT_BODY_LIMIT)
    } else {
        None
    }
}

/// The API's answer to an address it does not know: a 404 problem.
pub async fn not_found() -> Response {
    problem::ApiError::RouteNotFound.into_response()
}

/// The API's routes without the request time limit: live streams, which last as long as
/// their clients wish, and the catalog import.
pub fn streaming_routes() -> Router<AppState> {
    Router::new()
        .merge(catalog_csv::untimed_router())
        .merge(orders::streaming_router())
        .merge(events::streaming_router())
}

/// The served application: `routes` (the API's and the pages', merged by `server`) under
/// the time limit, `streaming` without it, `not_found` for any other address, and around
/// them the documentation, the problem+json 405 and every cross-cutting layer
/// (idempotency, kept answers, limits, compression, security headers, tracing, request
/// ids; audit and metrics per route).
///
/// The cross-cutting layers wrap the routed application once, as one service, rather
/// than through `Router::layer`, which wraps every route in each layer: a boxed service
/// cloned and a boxed future per layer and request. This, with kept answers served before
/// routing, took a kept catalog list from 173,000 to 64,000 instructions (callgrind).
pub fn application<H, T>(
    routes: Router<AppState>,
    streaming: Router<AppState>,
    not_found: H,
    state: AppState,
    settings: &HttpSettings,
) -> Router
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let timed = routes.layer(axum::middleware::from_fn_with_state(
        settings.request_timeout,
        middleware::time_limit,
    ));
    let routed = Router::new()
        .merge(timed)
        .merge(streaming)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), access::audit))
        .route_layer(axum::middleware::from_fn(middleware::record_metrics))
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .route("/openapi.json", axum::routing::get(openapi::serve_document))
        .fallback(not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .with_state(state.clone());
    let (draining, body_timeout) = (state.draining.clone(), settings.body_timeout);
    let limited = tower::ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .map_response(move |response| middleware::close_when_draining(&draining, response))
        .layer(axum::middleware::from_fn(middleware::log_server_errors))
        // The fastest gzip level: most of the saving on JSON for a fraction of the CPU
        // (the default level spent 11% of the server's time on catalog lists). flate2 runs
        // on zlib-rs (Cargo.toml), whose fastest level took a demo list read from the
        // database from 13% to 6% of the server's time in compression, 7% more lists a
        // second, for a 10% larger answer (8.0 KB, not 7.2).
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(axum::middleware::from_fn_with_state(
            state.catalog_cache.clone(),
            middleware::kept_answers,
        ))
        .layer(axum::middleware::from_fn(middleware::refuse_undecodable_queries))
        .map_request(move |request| middleware::body_deadline(body_timeout, request))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::Extension(state.catalog_cache.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .service(routed);
    let mut router = Router::new().fallback_service(limited);
    if let Some(limit) = settings.rate_limit {
        let config = Arc::new(
            GovernorConfigBuilder::default()
                .per_nanosecond(1_000_000_000 / u64::from(limit.per_second.max(1)))
                .burst_size(limit.burst.max(1))
                .finish()
                .unwrap_or_default(),
        );
        // The limiter keeps a bucket per address; forget the quiet ones now and then.
        let limiter = config.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticker.tick().await;
                limiter.limiter().retain_recent();
            }
        });
        router = router.layer(GovernorLayer::new(config).error_handler(middleware::rate_limited));
    }
    if let Some(cors) = cors_layer(&settings.cors_origins) {
        router = router.layer(cors);
    }
    let hsts = settings.hsts;
    let served = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
        // Credentials never reach a log line, whatever the log level.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                // Server errors are logged with their cause by `log_server_errors`; this line
                // only repeats the status (and a draining server's 503s are no error at all).
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .map_response(move |response| middleware::security_headers(hsts, response))
        .service(router);
    Router::new().fallback_service(served)
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let idempotency_key = HeaderName::from_static(idempotency::IDEMPOTENCY_KEY);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, idempotency_key, REQUEST_ID])
            .expose_headers([
                REQUEST_ID,
                header::RETRY_AFTER,
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}
