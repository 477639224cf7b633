//! Cross-cutting middleware of our own: request metrics and the logging of server errors.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::{ApiError, InternalCause};

/// Counts requests and records their latency by method, route template and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("backroom_http_requests_total", &labels).increment(1);
    metrics::histogram!("backroom_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// Logs the cause of every 500 here, once, so error responses themselves leak nothing.
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(%method, %path, status = response.status().as_u16(), cause = %cause, "request failed");
    }
    response
}

/// Answers 503 `timeout` when a request runs longer than the configured time. Work that
/// must not be cut short (payments) runs detached and finishes anyway.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit.as_secs()).into_response(),
    }
}

pub async fn not_found() -> Response {
    ApiError::RouteNotFound.into_response()
}

pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// A panic becomes a plain 500 problem; the panic itself is logged by the panic hook.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Domain(crate::domain::DomainError::Internal("a handler panicked".to_owned())).into_response()
}
