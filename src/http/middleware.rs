//! Cross-cutting middleware of our own: request metrics, kept catalog answers, the logging
//! of server errors, security headers, and closing connections while the server drains.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tower_http::timeout::DeadlineBody;

use super::problem::{ApiError, InternalCause};

/// Counts requests and records their latency by method, route template and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    record_request(&method, route, response.status(), started);
    response
}

fn record_request(method: &Method, route: &str, status: StatusCode, started: Instant) {
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route.to_owned()),
        ("status", status.as_str().to_owned()),
    ];
    metrics::counter!("backroom_http_requests_total", &labels).increment(1);
    metrics::histogram!("backroom_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
}

/// Serves a kept catalog answer ([`crate::app::caching::AnswerCache`]) before the request
/// is routed: the layers between here and the handler (limits, idempotency, the router,
/// the time limit) have nothing to do for it, and skipping them made kept reads faster.
/// It is counted in the request metrics under the route that answered it.
pub async fn kept_answers(
    State(cache): State<Arc<crate::app::caching::AnswerCache>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    match cache.kept_answer(&request) {
        Some((response, route)) => {
            record_request(&Method::GET, &route, response.status(), started);
            response
        }
        None => next.run(request).await,
    }
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
        Err(_) => ApiError::Timeout(limit.as_millis()).into_response(),
    }
}

/// Gives the request body a deadline: a client announcing a body and sending it slowly, or
/// not at all, is answered 408 (see `extract::read_body`) instead of holding the request
/// until the general time limit answers 503 and logs a server error.
pub fn body_deadline(limit: Duration, request: Request) -> Request {
    request.map(|body| Body::new(DeadlineBody::new(limit, body)))
}

/// A query string whose percent-escapes do not decode to UTF-8 is refused with 400, as the
/// same bytes in a path are: decoding it lossily would search for something else.
pub async fn refuse_undecodable_queries(request: Request, next: Next) -> Response {
    let undecodable = request.uri().query().is_some_and(|query| {
        query
            .split(['&', '='])
            .any(|part| percent_decode_str(part).decode_utf8().is_err())
    });
    if undecodable {
        return ApiError::BadRequest("the query string is not valid UTF-8 once decoded".to_owned()).into_response();
    }
    next.run(request).await
}

/// The Content-Security-Policy of every HTML page: nothing but our own assets, no
/// framing. Styles may be inline (the API reference sets them from script).
const HTML_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                        script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                        form-action 'self'";

/// Headers every response carries, and the stricter ones of HTML pages.
pub fn security_headers<B>(hsts: bool, mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        // A page that loads Stripe.js sets its own, wider policy (`payments::CardForm`).
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_CSP));
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// The general per-client rate limit's answer: a 429 problem with `Retry-After`.
pub fn rate_limited(error: tower_governor::GovernorError) -> Response {
    let retry_after_seconds = match error {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            i64::try_from(wait_time.max(1)).unwrap_or(1)
        }
        _ => 1,
    };
    ApiError::Domain(crate::domain::DomainError::RateLimited { retry_after_seconds }).into_response()
}

pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// A panic becomes a plain 500 problem; the panic itself is logged by the panic hook.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Domain(crate::domain::DomainError::Internal("a handler panicked".to_owned())).into_response()
}

/// HTTP caching of public catalog reads, and the answers kept in the process (see
/// [`crate::app::caching`], and [`kept_answers`], which serves them); an unreadable body
/// is a problem+json 500, as every API error is.
pub async fn catalog_cache(
    Extension(cache): Extension<Arc<crate::app::caching::AnswerCache>>,
    request: Request,
    next: Next,
) -> Response {
    crate::app::caching::read_and_keep(&cache, request, next, || {
        ApiError::Domain(crate::domain::DomainError::Internal(
            "unreadable response body".to_owned(),
        ))
        .into_response()
    })
    .await
}

/// While the server drains before stopping, every answer says `Connection: close`, so
/// that clients (and load balancers) open their next request elsewhere instead of sending
/// it on a connection about to close.
pub fn close_when_draining<B>(draining: &AtomicBool, mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    if draining.load(Ordering::SeqCst) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
