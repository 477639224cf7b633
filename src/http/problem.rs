//! Errors as RFC 9457 `application/problem+json`, mapped in this one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::shapes::MoneyDto;
use crate::app::caller::CallerError;
use crate::domain::{DomainError, FieldError, Shortage};

/// Every error a request can end with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being handled")]
    IdempotencyKeyInUse,
    #[error("the database is not reachable or not migrated")]
    NotReady,
    /// The server was told to stop and drains: not an error of its own.
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the request took longer than {0} ms")]
    Timeout(u128),
    /// The request body did not arrive within the body time limit.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("the request's URI is too long")]
    UriTooLong,
    #[error("the request's header fields are too large")]
    HeadersTooLarge,
    #[error("a request authenticated by the session cookie must carry its X-CSRF-Token")]
    CsrfTokenMissing,
}

impl From<CallerError> for ApiError {
    fn from(error: CallerError) -> Self {
        match error {
            CallerError::InvalidToken => ApiError::Domain(DomainError::Unauthorized),
            CallerError::CsrfTokenMissing => ApiError::CsrfTokenMissing,
            CallerError::Failed(error) => ApiError::Domain(error),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::Domain(error.into())
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable machine-readable code, such as `out_of_stock`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// For `out_of_stock`: every line that is short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<ProblemShortage>>,
    /// For `payment_declined`: why the card was declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// For `price_changed`: every line whose price changed since the customer last saw
    /// the cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<ProblemPriceChange>>,
    /// For `discount_invalid`: why the code cannot go on the cart (`unknown`, `expired`,
    /// `not_started`, `inactive`, `min_subtotal`, `used_up`, `not_combinable`,
    /// `not_applicable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `discount_unavailable`: the codes checkout could not use (an automatic
    /// discount by its description); they are off the cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemShortage {
    pub variant_id: String,
    /// The cart line's title.
    pub title: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemPriceChange {
    /// The cart line (`items[].id` of the cart).
    pub line_id: String,
    pub sku: String,
    pub title: String,
    /// The price the customer last saw.
    pub seen_price: MoneyDto,
    /// The price now, which the cart shows and a new checkout pays.
    pub price: MoneyDto,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError as E;
        use DomainError as D;
        match self {
            E::Domain(D::Validation(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Validation failed",
            ),
            E::Domain(D::DiscountInvalid { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "discount_invalid",
                "Discount code not valid",
            ),
            E::Domain(D::DiscountUnavailable { .. }) => {
                (StatusCode::CONFLICT, "discount_unavailable", "Discount unavailable")
            }
            E::Domain(D::NotSoldInCurrency { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_sold_in_currency",
                "Not sold in this currency",
            ),
            E::Domain(D::NotFound(_)) | E::RouteNotFound => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            E::Domain(D::Unauthorized | D::WrongCredentials) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            }
            E::Domain(D::Forbidden) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            E::Domain(D::Conflict(_)) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            E::Domain(D::OutOfStock(_)) => (StatusCode::CONFLICT, "out_of_stock", "Out of stock"),
            E::Domain(D::PricesChanged(_)) => (StatusCode::CONFLICT, "price_changed", "Prices changed"),
            E::Domain(D::PaymentDeclined { .. }) => {
                (StatusCode::PAYMENT_REQUIRED, "payment_declined", "Payment declined")
            }
            E::Domain(D::RateLimited { .. }) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            E::Domain(D::PaymentProvider(_) | D::PaymentOutcomeUnknown(_)) => (
                StatusCode::BAD_GATEWAY,
                "payment_provider_error",
                "Payment provider error",
            ),
            E::Domain(D::Store(_) | D::Internal(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")
            }
            E::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", "Bad request"),
            E::UnsupportedMediaType(_) | E::Domain(D::UnsupportedMediaType(_)) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            E::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large"),
            E::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            E::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
            ),
            E::IdempotencyKeyInUse => (StatusCode::CONFLICT, "idempotency_key_in_use", "Idempotency key in use"),
            E::NotReady | E::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "not_ready", "Not ready"),
            E::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout", "Request timed out"),
            E::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout", "Request timeout"),
            E::UriTooLong => (StatusCode::URI_TOO_LONG, "uri_too_long", "URI too long"),
            E::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "Request header fields too large",
            ),
            E::CsrfTokenMissing => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Domain(DomainError::Validation(errors)) => match errors.as_slice() {
                [only] => format!("{} {}", only.field, only.message),
                _ => format!("{} fields are not valid", errors.len()),
            },
            ApiError::Domain(DomainError::OutOfStock(shortages)) => {
                let lines: Vec<String> = shortages
                    .iter()
                    .map(|short| match short.available {
                        0 => format!("{} (sold out)", short.title),
                        left => format!("{} (only {left} left)", short.title),
                    })
                    .collect();
                format!("not enough stock for {}", lines.join(", "))
            }
            ApiError::Domain(DomainError::PaymentProvider(_)) => {
                "the payment provider failed; nothing was charged and the cart is unchanged".to_owned()
            }
            ApiError::Domain(DomainError::PaymentOutcomeUnknown(_)) => {
                "the payment provider did not answer: the payment is held (its stock reserved) until the provider's \
                 outcome is known, within a few minutes; retry with the same Idempotency-Key to learn it"
                    .to_owned()
            }
            // Internals stay in the log (see `http::middleware::log_server_errors`).
            ApiError::Domain(DomainError::Store(_) | DomainError::Internal(_)) => {
                "something went wrong on our side; it has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let (errors, variants, decline_code) = match self {
            ApiError::Domain(DomainError::Validation(errors)) => (Some(errors.iter().map(field).collect()), None, None),
            ApiError::Domain(DomainError::NotSoldInCurrency { field: name, currency }) => (
                Some(vec![field(&FieldError::new(
                    name.clone(),
                    format!("is not sold in {currency}"),
                ))]),
                None,
                None,
            ),
            ApiError::Domain(DomainError::DiscountInvalid { reason }) => (
                Some(vec![field(&FieldError::new("code", reason.message()))]),
                None,
                None,
            ),
            ApiError::Domain(DomainError::OutOfStock(shortages)) => {
                (None, Some(shortages.iter().map(shortage).collect()), None)
            }
            ApiError::Domain(DomainError::PaymentDeclined { decline_code }) => (None, None, Some(decline_code.clone())),
            _ => (None, None, None),
        };
        let lines = match self {
            ApiError::Domain(DomainError::PricesChanged(changes)) => Some(
                changes
                    .iter()
                    .map(|change| ProblemPriceChange {
                        line_id: change.item_id.clone(),
                        sku: change.sku.clone(),
                        title: change.title.clone(),
                        seen_price: change.seen.into(),
                        price: change.now.into(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        Problem {
            kind: format!("urn:backroom:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            errors,
            variants,
            decline_code,
            lines,
            reason: match self {
                ApiError::Domain(DomainError::DiscountInvalid { reason }) => Some(reason.as_str().to_owned()),
                _ => None,
            },
            codes: match self {
                ApiError::Domain(DomainError::DiscountUnavailable { codes, .. }) => Some(codes.clone()),
                _ => None,
            },
        }
    }
}

fn field(error: &FieldError) -> ProblemField {
    ProblemField {
        field: error.field.clone(),
        message: error.message.clone(),
    }
}

fn shortage(shortage: &Shortage) -> ProblemShortage {
    ProblemShortage {
        variant_id: shortage.variant_id.clone(),
        title: shortage.title.clone(),
        requested: shortage.requested,
        available: shortage.available,
    }
}

/// The cause of a 500, carried to the logging middleware so the response itself says nothing.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

/// Marks an answer whose outcome is not known yet: the idempotency middleware keeps its
/// key claimed instead of storing it, so that a later retry learns the outcome.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeUnknown;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status.is_server_error() && !matches!(self, ApiError::ShuttingDown) {
            response.extensions_mut().insert(InternalCause(self.to_string()));
        }
        if let ApiError::Domain(DomainError::PaymentOutcomeUnknown(_)) = self {
            response.extensions_mut().insert(OutcomeUnknown);
        }
        if let ApiError::Domain(DomainError::RateLimited { retry_after_seconds }) = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
