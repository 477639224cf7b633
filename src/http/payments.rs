//! Payment attempts after checkout, and the payment provider's webhook (contract:
//! Payments with Stripe).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{ApiPath, Caller, RawBody};
use super::orders::OrderDto;
use super::problem::{ApiError, ApiResult, Problem};
use super::shapes::MoneyDto;
use super::{AppState, Json};
use crate::domain::checkout::{CheckoutOutcome, PlacedOrder};
use crate::domain::payment_attempts::{self, PaymentAttempt};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/confirm", post(confirm_payment))
        .route("/v1/payments/{id}/cancel", post(cancel_payment))
        .route("/v1/webhooks/stripe", post(stripe_webhook))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PaymentAttempt)]
pub struct PaymentAttemptDto {
    pub id: String,
    /// `pending`, `requires_action`, `authorized`, `captured`, `failed`, `canceled`,
    /// `partially_refunded` or `refunded`.
    pub status: String,
    pub amount: MoneyDto,
    /// The order the payment made, once it made one.
    pub order_id: Option<String>,
    /// While `requires_action`: what Stripe.js needs to let the customer finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl From<PaymentAttempt> for PaymentAttemptDto {
    fn from(attempt: PaymentAttempt) -> Self {
        PaymentAttemptDto {
            id: attempt.id,
            status: attempt.status.as_str().to_owned(),
            amount: attempt.amount.into(),
            order_id: attempt.order_id,
            client_secret: attempt.client_secret,
        }
    }
}

/// A checkout's (or a confirmation's) 202: the customer must act in their browser
/// (`stripe.handleNextAction({clientSecret})`), then confirm.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RequiresAction)]
pub struct RequiresActionDto {
    /// Always `requires_action`.
    pub status: &'static str,
    pub payment_id: String,
    pub client_secret: String,
    /// Only in a guest checkout's answer: opens the order, once placed, with `?token=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What a checkout or a confirmation answers: 201 with the order, or 202 while the
/// customer must act.
pub enum CheckoutAnswer {
    Placed(Box<OrderDto>),
    RequiresAction(RequiresActionDto),
}

impl From<CheckoutOutcome> for CheckoutAnswer {
    fn from(outcome: CheckoutOutcome) -> Self {
        match outcome {
            CheckoutOutcome::Placed(placed) => {
                let PlacedOrder { order, guest_token } = *placed;
                let mut order = OrderDto::from(order);
                order.token = guest_token;
                CheckoutAnswer::Placed(Box::new(order))
            }
            CheckoutOutcome::RequiresAction {
                payment_id,
                client_secret,
                guest_token,
            } => CheckoutAnswer::RequiresAction(RequiresActionDto {
                status: "requires_action",
                payment_id,
                client_secret,
                token: guest_token,
            }),
        }
    }
}

impl IntoResponse for CheckoutAnswer {
    fn into_response(self) -> Response {
        match self {
            CheckoutAnswer::Placed(order) => (StatusCode::CREATED, Json(*order)).into_response(),
            CheckoutAnswer::RequiresAction(action) => (StatusCode::ACCEPTED, Json(action)).into_response(),
        }
    }
}

/// A payment attempt, to whoever may see its cart.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PaymentAttemptDto), (status = 404, body = Problem)))]
pub async fn get_payment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PaymentAttemptDto>> {
    Ok(Json(
        payment_attempts::get_payment(&state.store, &caller, &id).await?.into(),
    ))
}

/// After the customer finished the action: the order (the same one however often this is
/// called), a decline, or still waiting for the action.
#[utoipa::path(post, path = "/v1/payments/{id}/confirm", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 201, body = OrderDto), (status = 202, body = RequiresActionDto),
              (status = 402, body = Problem, description = "payment_declined"), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "the payment was canceled, or is still being processed"),
              (status = 502, body = Problem, description = "payment_provider_error")))]
pub async fn confirm_payment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<CheckoutAnswer> {
    let outcome =
        super::detached(async move { payment_attempts::confirm(&state.store, &state.payments, &caller, &id).await })
            .await?;
    Ok(outcome.into())
}

/// Abandons an attempt waiting for the customer's action: the charge is canceled, the
/// stock released and the cart open again.
#[utoipa::path(post, path = "/v1/payments/{id}/cancel", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PaymentAttemptDto), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "the payment went through, or is still being processed"),
              (status = 502, body = Problem, description = "payment_provider_error")))]
pub async fn cancel_payment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PaymentAttemptDto>> {
    let attempt =
        super::detached(async move { payment_attempts::cancel(&state.store, &state.payments, &caller, &id).await })
            .await?;
    Ok(Json(attempt.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    pub received: bool,
}

/// Stripe's events: 200 once the `Stripe-Signature` is verified (whatever the event, so
/// Stripe stops sending it), 400 otherwise.
#[utoipa::path(post, path = "/v1/webhooks/stripe", tag = "carts", security(()),
    params(("Stripe-Signature" = String, Header, description = "t=...,v1=...")),
    request_body(content = Object, content_type = "application/json", description = "a Stripe event"),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = Problem)))]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<WebhookReceipt>> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::BadRequest("the Stripe-Signature header is missing".to_owned()))?;
    let event = state
        .payments
        .verify_event(signature, &body)
        .map_err(|refusal| ApiError::BadRequest(refusal.0))?;
    if let Some(event) = event {
        super::detached(
            async move { payment_attempts::apply_provider_event(&state.store, &state.payments, event).await },
        )
        .await?;
    }
    Ok(Json(WebhookReceipt { received: true }))
}
