//! The `Idempotency-Key` middleware for every POST (contract: Conventions).
//!
//! Responses that end before handling begins (400, 401, 413, 415, 422, 429) are not
//! stored, so the key may be retried; every other response is stored and replayed
//! byte-for-byte with `Idempotent-Replayed: true`. The exceptions are 500, 503 and a
//! payment provider's unknown answer (a 502): their outcome is unknown (a timed-out checkout may still place its order), so the key stays
//! claimed until it counts as abandoned, and the retry then runs anew and finds what the
//! first request achieved.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::collect_body;
use super::problem::{ApiError, OutcomeUnknown};
use crate::app::caller::{CallerError, ResolvedCaller, resolve_caller};
use crate::domain::idempotency::{self, Claim, StoredResponse};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// Responses this large are not kept for replay (none of ours comes near).
const MAX_STORED_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(request).await;
    }
    match handle(state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handle(state: AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|value| value.to_str().ok())
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|byte| byte.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned()).into_response()
        })?;
    // An invalid token or a missing CSRF token is the handler's 401/403 to give, and such
    // answers are not stored; any other failure (the database) must not run the handler
    // without its key claimed.
    let caller = match resolve_caller(&state.store, request.method(), request.headers()).await {
        Ok(caller) => caller,
        Err(CallerError::InvalidToken | CallerError::CsrfTokenMissing) => {
            return Ok(next.run(request).await);
        }
        Err(error) => return Err(ApiError::from(error).into_response()),
    };
    let scope = caller.scope();
    let (mut parts, body) = request.into_parts();
    // An upload's or an import's larger body is read only for staff: anyone else is
    // refused by the handler, and must not make the server hold megabytes first.
    let limit = super::large_body_limit(parts.uri.path())
        .filter(|_| caller.require_staff().is_ok())
        .unwrap_or(super::BODY_LIMIT_BYTES);
    let bytes = collect_body(body, limit).await.map_err(IntoResponse::into_response)?;
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let hash = idempotency::fingerprint(parts.method.as_str(), &target, &bytes);

    let request = idempotency::KeyedRequest {
        scope: &scope,
        key: &key,
        method: parts.method.as_str(),
        target: &target,
        hash: &hash,
    };
    let claim = idempotency::claim(&state.store, &request, state.idempotency_abandon_seconds)
        .await
        .map_err(|error| ApiError::from(error).into_response())?;
    match claim {
        Claim::Proceed => {}
        Claim::Replay(stored) => return Ok(replay(stored)),
        Claim::Reused => return Err(ApiError::IdempotencyKeyReused.into_response()),
        Claim::InUse => return Err(ApiError::IdempotencyKeyInUse.into_response()),
    }

    parts.extensions.insert(ResolvedCaller(caller));
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let outcome_unknown = response.extensions().get::<OutcomeUnknown>().is_some();
    match response.status().as_u16() {
        // The outcome is unknown (a timed-out checkout may still place its order, a
        // provider's lost answer may still be a charge): keep the key claimed until it
        // counts as abandoned; the retry then finds what happened.
        _ if outcome_unknown => return Ok(response),
        500 | 503 => return Ok(response),
        status if !is_stored(status) => {
            release(&state, &scope, &key).await;
            return Ok(response);
        }
        _ => {}
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_STORED_RESPONSE_BYTES).await else {
        release(&state, &scope, &key).await;
        return Err(ApiError::Domain(crate::domain::DomainError::Internal(
            "response too large to keep".to_owned(),
        ))
        .into_response());
    };
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    if let Err(error) = idempotency::complete(&state.store, &scope, &key, &stored).await {
        tracing::error!(%error, "could not store an idempotent response; the key stays claimed until abandoned");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

async fn release(state: &AppState, scope: &str, key: &str) {
    if let Err(error) = idempotency::release(&state.store, scope, key).await {
        tracing::error!(%error, "could not release an idempotency key");
    }
}

/// Responses that end before handling begins are not kept (contract: Conventions).
fn is_stored(status: u16) -> bool {
    !matches!(status, 400 | 401 | 413 | 415 | 422 | 429)
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body).into_response();
    if let Some(content_type) = stored.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
