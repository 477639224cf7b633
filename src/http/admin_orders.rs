//! The staff's orders (contract: Staff): every order, fulfilment, cancellation and refunds. Every operation checks the caller's permission itself.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{ApiPath, ApiQuery, OptionalJson, Staff};
use super::orders::OrderDto;
use super::problem::{ApiResult, Problem};
use super::shapes::ListResponse;
use super::{AppState, Json};
use crate::domain::{PageRequest, orders};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/orders", get(list_orders))
        .route("/v1/admin/orders/{id}", get(get_order))
        .route("/v1/admin/orders/{id}/fulfill", post(fulfill_order))
        .route("/v1/admin/orders/{id}/cancel", post(cancel_order))
        .route("/v1/admin/orders/{id}/refund", post(refund_order))
}

/// Every order, newest first, optionally of one status.
#[utoipa::path(get, path = "/v1/admin/orders", tag = "staff", params(OrderListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<OrderDto>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_orders(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<OrderListQuery>,
) -> ApiResult<Json<ListResponse<OrderDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let orders = orders::list_all_orders(&state.store, &caller, query.status.as_deref(), &page).await?;
    Ok(Json(ListResponse::from_page(orders, Into::into)))
}

/// Any order, with its payment, lines and totals.
#[utoipa::path(get, path = "/v1/admin/orders/{id}", tag = "staff", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrderDto>> {
    Ok(Json(
        orders::get_order_as_staff(&state.store, &caller, &id).await?.into(),
    ))
}

/// `paid` → `fulfilled`, with an optional tracking number; a payment only authorized
/// (manual capture) is captured first.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/fulfill", tag = "staff", params(("id" = String, Path)),
    request_body(content = Option<FulfillRequest>), security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not paid"),
              (status = 502, body = Problem, description = "payment_provider_error: the capture failed")))]
pub async fn fulfill_order(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<FulfillRequest>,
) -> ApiResult<Json<OrderDto>> {
    Ok(Json(
        orders::fulfill(
            &state.store,
            &state.payments,
            &caller,
            &id,
            body.tracking_number.as_deref(),
        )
        .await?
        .into(),
    ))
}

/// `paid` → `canceled`: the stock goes back and what is left of the payment is refunded.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/cancel", tag = "staff", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not paid"), (status = 502, body = Problem)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrderDto>> {
    let order =
        super::detached(async move { orders::cancel(&state.store, &state.payments, &caller, &id).await }).await?;
    Ok(Json(order.into()))
}

/// Refunds `amount` minor units (default: all that is left).
#[utoipa::path(post, path = "/v1/admin/orders/{id}/refund", tag = "staff", params(("id" = String, Path)),
    request_body(content = Option<RefundRequest>), security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "nothing left to refund, or the order is canceled"),
              (status = 422, body = Problem, description = "more than what is left"), (status = 502, body = Problem)))]
pub async fn refund_order(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RefundRequest>,
) -> ApiResult<Json<OrderDto>> {
    let order =
        super::detached(async move { orders::refund(&state.store, &state.payments, &caller, &id, body.amount).await })
            .await?;
    Ok(Json(order.into()))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// `paid`, `fulfilled` or `canceled`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillRequest {
    pub tracking_number: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units of the order's currency; default: all that is left.
    pub amount: Option<i64>,
}
