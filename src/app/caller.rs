//! Who is calling: the principal behind a request's bearer token or session cookie.

use axum::http::{HeaderMap, Method, header};

use super::cookies;
use crate::domain::accounts::sessions;
use crate::domain::{DomainError, Principal};
use crate::store::Store;

/// Why a request names no caller it may act as.
#[derive(Debug)]
pub enum CallerError {
    /// A bearer token that is malformed, unknown, expired or revoked.
    InvalidToken,
    /// A cookie-authenticated unsafe request without its session's CSRF token.
    CsrfTokenMissing,
    /// The caller could not be looked up (the database).
    Failed(DomainError),
}

impl From<DomainError> for CallerError {
    fn from(error: DomainError) -> Self {
        CallerError::Failed(error)
    }
}

/// The caller once resolved, kept in the request's extensions so that middleware, the
/// handler and the page resolve a token only once.
#[derive(Clone, Debug)]
pub struct ResolvedCaller(pub Principal);

/// The principal behind the request: its `Authorization: Bearer` token, else its session
/// cookie, else no one. A cookie-authenticated unsafe request must carry the session's
/// CSRF token; a stale cookie makes an anonymous visitor (the shop still browses).
pub async fn resolve_caller(store: &Store, method: &Method, headers: &HeaderMap) -> Result<Principal, CallerError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = bearer_token(value.to_str().unwrap_or_default()).ok_or(CallerError::InvalidToken)?;
        return sessions::resolve_session(store, token)
            .await?
            .ok_or(CallerError::InvalidToken);
    }
    let Some(token) = cookies::cookie(headers, cookies::SESSION_COOKIE) else {
        return Ok(Principal::Anonymous);
    };
    let Some(principal) = sessions::resolve_session(store, token).await? else {
        return Ok(Principal::Anonymous);
    };
    if cookies::is_unsafe(method) && !cookies::carries_csrf_token(headers, token) {
        return Err(CallerError::CsrfTokenMissing);
    }
    Ok(principal)
}

/// The session token a request presents: its bearer token, else its session cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    match headers.get(header::AUTHORIZATION) {
        Some(value) => value.to_str().ok().and_then(bearer_token),
        None => cookies::cookie(headers, cookies::SESSION_COOKIE),
    }
}

pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// True while the credential a live stream was opened with still names the same caller:
/// a logout, an expiry, a password change or a revoked key ends the stream.
pub async fn still_signed_in(store: &Store, credential: Option<&str>, caller: &Principal) -> bool {
    match credential {
        None => true,
        Some(token) => matches!(sessions::resolve_session(store, token).await, Ok(Some(now)) if now == *caller),
    }
}
