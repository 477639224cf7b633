//! Merchant webhooks as staff manage them (contract: Events and webhooks): endpoints,
//! their deliveries with each attempt, a retry by hand and a test event.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, PageQuery, time};
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::webhooks::{self, Delivery, DeliveryAttempt, EndpointPatch, NewEndpoint, WebhookEndpoint};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/webhooks", get(list_endpoints).post(create_endpoint))
        .route(
            "/v1/admin/webhooks/{id}",
            get(get_endpoint).patch(update_endpoint).delete(delete_endpoint),
        )
        .route("/v1/admin/webhooks/{id}/test", post(send_test))
        .route("/v1/admin/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/v1/admin/webhooks/{id}/deliveries/{delivery_id}", get(get_delivery))
        .route(
            "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
            post(retry_delivery),
        )
}

/// Every webhook endpoint, newest first.
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "webhooks", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<WebhookEndpointDto>), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<WebhookEndpointDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let found = webhooks::list_endpoints(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(found, |endpoint| {
        WebhookEndpointDto::new(endpoint, None)
    })))
}

/// Registers an endpoint for some event types (or `["*"]`). The answer holds its `secret`,
/// which signs every delivery and is not shown again.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "webhooks", request_body = NewWebhookRequest,
    security(("bearer" = [])),
    responses((status = 201, body = WebhookEndpointDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "a bad URL (not https, or resolving to a refused address) or event type")))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewWebhookRequest>,
) -> ApiResult<Created<WebhookEndpointDto>> {
    let input = NewEndpoint {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    let (endpoint, secret) = webhooks::create_endpoint(&state.store, &state.webhook_client, &caller, input).await?;
    Ok(Created(WebhookEndpointDto::new(endpoint, Some(secret))))
}

/// An endpoint (without its secret).
#[utoipa::path(get, path = "/v1/admin/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookEndpointDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookEndpointDto>> {
    let endpoint = webhooks::get_endpoint(&state.store, &caller, &id).await?;
    Ok(Json(WebhookEndpointDto::new(endpoint, None)))
}

/// Changes an endpoint's URL, event types or description, or pauses (`enabled: false`) and
/// resumes it. Resuming clears why Backroom disabled it; deliveries still pending go out.
#[utoipa::path(patch, path = "/v1/admin/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = WebhookPatchRequest, security(("bearer" = [])),
    responses((status = 200, body = WebhookEndpointDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WebhookPatchRequest>,
) -> ApiResult<Json<WebhookEndpointDto>> {
    let patch = EndpointPatch {
        url: body.url,
        events: body.events,
        description: body.description,
        enabled: body.enabled,
    };
    let endpoint = webhooks::update_endpoint(&state.store, &state.webhook_client, &caller, &id, patch).await?;
    Ok(Json(WebhookEndpointDto::new(endpoint, None)))
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete_endpoint(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `webhook.test` event to the endpoint; its delivery shows in the log.
#[utoipa::path(post, path = "/v1/admin/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 202, body = WebhookTestDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "the endpoint is disabled")))]
pub async fn send_test(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<WebhookTestDto>)> {
    let event = webhooks::send_test(&state.store, &caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(WebhookTestDto { event_id: event.id })))
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/admin/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<DeliveryDto>), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<DeliveryDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let found = webhooks::list_deliveries(&state.store, &caller, &id, &page).await?;
    Ok(Json(ListResponse::from_page(found, |delivery| {
        DeliveryDto::new(delivery, None)
    })))
}

/// A delivery with every attempt: when, how long, the status code and the start of the
/// answer.
#[utoipa::path(get, path = "/v1/admin/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = DeliveryDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_delivery(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeliveryDto>> {
    let (delivery, attempts) = webhooks::get_delivery(&state.store, &caller, &id, &delivery_id).await?;
    Ok(Json(DeliveryDto::new(delivery, Some(attempts))))
}

/// Sends a delivery again now, whatever became of it; it counts as an attempt.
#[utoipa::path(post, path = "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)), security(("bearer" = [])),
    responses((status = 202, description = "the delivery is due now"), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "it is being sent right now")))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    webhooks::retry_delivery(&state.store, &caller, &id, &delivery_id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// `https`, or `http` to loopback where the operator allows it.
    #[schema(max_length = 2000)]
    pub url: String,
    /// Event types, or `["*"]` for every type.
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchRequest {
    /// `https`, or `http` to loopback where the operator allows it.
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `false` pauses the endpoint; `true` resumes it.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct WebhookEndpointDto {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why Backroom disabled it: a 410, or 3 days of failed deliveries.
    pub disabled_reason: Option<String>,
    /// Its deliveries have failed since then, without a success.
    pub failing_since: Option<String>,
    /// `whsec_...`: only in the answer that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookEndpointDto {
    fn new(endpoint: WebhookEndpoint, secret: Option<String>) -> Self {
        WebhookEndpointDto {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            events: endpoint.events,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            failing_since: endpoint.failing_since.map(time),
            secret,
            created_at: time(endpoint.created_at),
            updated_at: time(endpoint.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryDto {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// The status code of the last answer.
    pub response_status: Option<i64>,
    /// While pending: when it is tried next.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// Every attempt, oldest first (only when one delivery is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<DeliveryAttemptDto>>,
}

impl DeliveryDto {
    fn new(delivery: Delivery, attempts: Option<Vec<DeliveryAttempt>>) -> Self {
        DeliveryDto {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            status: delivery.status.as_str().to_owned(),
            attempts: delivery.attempts,
            response_status: delivery.response_status,
            next_attempt_at: delivery.next_attempt_at.map(time),
            created_at: time(delivery.created_at),
            attempt_log: attempts.map(|attempts| attempts.into_iter().map(Into::into).collect()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAttempt)]
pub struct DeliveryAttemptDto {
    pub started_at: String,
    pub duration_ms: i64,
    /// The answer's status code; none when there was no answer.
    pub response_status: Option<i64>,
    /// The start of the answer's body (1 KiB at most).
    pub response_body: String,
    /// Why there was no answer: a refused address, a timeout, a refused connection.
    pub error: Option<String>,
}

impl From<DeliveryAttempt> for DeliveryAttemptDto {
    fn from(attempt: DeliveryAttempt) -> Self {
        DeliveryAttemptDto {
            started_at: time(attempt.started_at),
            duration_ms: attempt.duration_ms,
            response_status: attempt.response_status,
            response_body: attempt.response_body,
            error: attempt.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestDto {
    /// The `webhook.test` event sent.
    pub event_id: String,
}
