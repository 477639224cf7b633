//! Operations endpoints: liveness, readiness and metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::problem::{ApiError, ApiResult, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database is reachable and migrated, and the process is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, body = Problem)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        Err(ApiError::ShuttingDown)
    } else if state.store.is_ready().await {
        Ok("ready")
    } else {
        Err(ApiError::NotReady)
    }
}

/// Prometheus metrics: requests and latency by route and status, checkout outcomes,
/// database pool use, and on SQLite how long its one writer has been busy.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (in_use, idle) = state.store.pool_usage();
    metrics::gauge!("backroom_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    metrics::gauge!("backroom_db_pool_connections", "state" => "idle").set(f64::from(idle));
    if let Some(busy) = state.store.writer_busy_time() {
        // Only ever grows: its rate is the share of the time SQLite's one writer is busy,
        // near 1 when writes queue for it.
        metrics::gauge!("backroom_db_writer_busy_seconds").set(busy.as_secs_f64());
    }
    let mut response = (StatusCode::OK, state.metrics.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
