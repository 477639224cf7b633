//! Extractors with Backroom's rejections: JSON bodies, query strings and the caller.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::app::AppState;
use crate::app::caller::{ResolvedCaller, resolve_caller};
use crate::domain::{DomainError, FieldError, Principal};

/// A JSON body: `Content-Type: application/json` (else 415), well-formed (else 400), and
/// of the expected shape with no unknown fields (else 422, naming the field).
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body (with or without a content type) or `null` means
/// `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = json_content_type(request.headers());
        let bytes = read_body(request, state).await?;
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "request bodies must be application/json".to_owned(),
            ));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = json_content_type(request.headers());
        let bytes = read_body(request, state).await?;
        // JSON's whitespace only (RFC 8259): a form feed, which `trim_ascii` would also take
        // off, is not an empty body but a malformed one.
        let trimmed: &[u8] = {
            let json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
            let start = bytes.iter().position(|b| !json_space(b)).unwrap_or(bytes.len());
            let end = bytes
                .iter()
                .rposition(|b| !json_space(b))
                .map_or(start, |last| last + 1);
            &bytes[start..end]
        };
        if trimmed.is_empty() || trimmed == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "request bodies must be application/json".to_owned(),
            ));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// A body exactly as it was sent, for a webhook whose signature covers its bytes.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_body(request, state).await.map(RawBody)
    }
}

async fn read_body<S: Send + Sync>(request: Request, _state: &S) -> Result<Bytes, ApiError> {
    collect_body(request.into_body(), super::BODY_LIMIT_BYTES).await
}

/// The whole body, up to `limit` bytes: over it 413, too slow 408 (the body deadline of
/// `middleware::body_deadline`), cut off 400.
pub async fn collect_body(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if caused_by::<http_body_util::LengthLimitError>(&error) {
            ApiError::PayloadTooLarge(limit)
        } else if caused_by::<tower_http::timeout::TimeoutError>(&error) {
            ApiError::RequestTimeout
        } else {
            ApiError::BadRequest(format!("could not read the request body: {error}"))
        }
    })
}

pub(super) fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|error| error.is::<E>())
}

fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Syntax errors are 400; a well-formed body of the wrong shape is 422 with the field named
/// (a JSON array is never taken for an object: see `strict_json`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // No text anywhere may hold NUL: PostgreSQL cannot store it, so refuse it up front on
    // both databases. In JSON it can only appear escaped.
    if bytes.windows(6).any(|window| window.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::Domain(DomainError::Validation(vec![FieldError::new(
            "body",
            "text must not contain NUL characters",
        )])));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Syntax if error.to_string().contains("trailing") => {
            ApiError::BadRequest(format!("the body has data after its JSON value: {error}"))
        }
        _ => ApiError::BadRequest(format!("the body is not valid JSON: {error}")),
    })?;
    serde_path_to_error::deserialize(super::strict_json::Strict(value)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        ApiError::Domain(DomainError::Validation(vec![field_error(
            &path,
            &clean_serde_message(&inner),
        )]))
    })
}

/// Names the field a serde message is about: "missing field `line1`" at `shipping_address`
/// is about `shipping_address.line1`.
fn field_error(path: &str, message: &str) -> FieldError {
    let at = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = quoted("missing field `") {
        FieldError::new(at(&name), "is required")
    } else if let Some(name) = quoted("unknown field `") {
        // The path already ends at the unknown key (a missing field's path ends at its parent).
        let names_it = path == name || path.ends_with(&format!(".{name}"));
        let field = if names_it { path.to_owned() } else { at(&name) };
        FieldError::new(field, "is not a field of this request")
    } else {
        FieldError::new(
            if path == "." {
                "body".to_owned()
            } else {
                path.to_owned()
            },
            message,
        )
    }
}

/// serde's messages end with " at line 1 column 42"; the field path says where already.
fn clean_serde_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message,
    }
}

/// A query string of the expected shape, else 422.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if query.to_ascii_lowercase().contains("%00") {
            return Err(ApiError::Domain(DomainError::Validation(vec![FieldError::new(
                "query",
                "must not contain NUL characters",
            )])));
        }
        serde_urlencoded::from_str(query).map(ApiQuery).map_err(|error| {
            ApiError::Domain(DomainError::Validation(vec![FieldError::new(
                "query",
                error.to_string(),
            )]))
        })
    }
}

/// Who is calling. A request without a bearer token is `Principal::Anonymous`; a token
/// that is unknown, expired or revoked is refused with 401.
pub struct Caller(pub Principal);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ResolvedCaller(principal)) = parts.extensions.get::<ResolvedCaller>() {
            return Ok(Caller(principal.clone()));
        }
        let state = AppState::from_ref(state);
        let principal = resolve_caller(&state.store, &parts.method, &parts.headers).await?;
        parts.extensions.insert(ResolvedCaller(principal.clone()));
        Ok(Caller(principal))
    }
}

/// Path parameters; a path that does not decode is a 400 problem, and an id holding a
/// control character (such as NUL, which PostgreSQL cannot compare) names nothing: 404.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        if params.iter().any(|(_, value)| value.chars().any(char::is_control)) {
            return Err(ApiError::RouteNotFound);
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// A staff member (role `staff` or `admin`): 401 for no one, 403 for a customer. Staff
/// handlers take it before their body, so the caller is checked before the input; the
/// domain operations check again.
pub struct Staff(pub Principal);

impl<S> FromRequestParts<S> for Staff
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        principal.require_staff()?;
        Ok(Staff(principal))
    }
}

/// A caller who is logged in (customer, staff member or API key): 401 for no one. Taken
/// before the body, so that an anonymous caller learns nothing about its validity.
pub struct SignedIn(pub Principal);

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller(Principal::Anonymous) => Err(ApiError::Domain(DomainError::Unauthorized)),
            Caller(principal) => Ok(SignedIn(principal)),
        }
    }
}
