//! Discounts as staff manage them (contract: Discounts); the cart's code endpoints are in
//! `carts`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, MoneyDto, PageQuery, nullable, time};
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::discounts::{self, Discount, DiscountDetail, DiscountInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/discounts", get(list_discounts).post(create_discount))
        .route(
            "/v1/admin/discounts/{id}",
            get(get_discount).patch(update_discount).delete(delete_discount),
        )
}

/// Every discount, newest first, with how often each was used.
#[utoipa::path(get, path = "/v1/admin/discounts", tag = "staff", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<DiscountDto>), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_discounts(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<DiscountDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let found = discounts::list_discounts(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(found, |discount| {
        DiscountDto::new(discount, None)
    })))
}

/// Creates a discount: with a `code` customers enter, or automatic (no code) for every cart
/// that meets its conditions.
#[utoipa::path(post, path = "/v1/admin/discounts", tag = "staff", request_body = DiscountRequest,
    security(("bearer" = [])),
    responses((status = 201, body = DiscountDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "the code is taken"), (status = 422, body = Problem)))]
pub async fn create_discount(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<DiscountRequest>,
) -> ApiResult<Created<DiscountDto>> {
    let discount = discounts::create_discount(&state.store, &caller, body.into()).await?;
    Ok(Created(DiscountDto::new(discount, None)))
}

/// A discount, with the orders that used it (the newest hundred).
#[utoipa::path(get, path = "/v1/admin/discounts/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = DiscountDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_discount(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DiscountDto>> {
    let DiscountDetail { discount, order_ids } = discounts::get_discount(&state.store, &caller, &id).await?;
    Ok(Json(DiscountDto::new(discount, Some(order_ids))))
}

/// Changes any field of a discount; `null` clears an optional one. `active: false`
/// deactivates it.
#[utoipa::path(patch, path = "/v1/admin/discounts/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = DiscountRequest, security(("bearer" = [])),
    responses((status = 200, body = DiscountDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "the code is taken"), (status = 422, body = Problem)))]
pub async fn update_discount(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DiscountRequest>,
) -> ApiResult<Json<DiscountDto>> {
    let discount = discounts::update_discount(&state.store, &caller, &id, body.into()).await?;
    Ok(Json(DiscountDto::new(discount, None)))
}

/// Deletes a discount no order used; a used one is deactivated instead (its orders keep
/// naming it).
#[utoipa::path(delete, path = "/v1/admin/discounts/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_discount(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    discounts::delete_discount(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A discount to create (`kind` required) or the fields to change. Amounts are integer
/// minor units of `currency`; times are RFC 3339.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountRequest {
    /// What customers enter (letters, digits, `-`, `_`; up to 64; case does not count);
    /// `null` or left out on creation: automatic.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(min_length = 1, max_length = 64)]
    pub code: Option<Option<String>>,
    /// What carts and orders show; made from the discount when left out.
    pub description: Option<String>,
    /// `percentage`, `fixed_amount` or `free_shipping`.
    pub kind: Option<String>,
    /// For `percentage`: 1..=10000 (1000 is 10 %).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub percentage_bps: Option<Option<i64>>,
    /// For `fixed_amount`, with `currency`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub amount: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    /// The cart's subtotal before discounts must reach it (with `currency`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub min_subtotal: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub usage_limit: Option<Option<i64>>,
    /// A customer by account, a guest by email.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub usage_limit_per_customer: Option<Option<i64>>,
    /// Only lines of these products (or of `category_ids`); none: every line.
    pub product_ids: Option<Vec<String>>,
    pub category_ids: Option<Vec<String>>,
    /// Stacks with other combinable discounts; default false.
    pub combinable: Option<bool>,
    /// Default true.
    pub active: Option<bool>,
}

impl From<DiscountRequest> for DiscountInput {
    fn from(request: DiscountRequest) -> Self {
        DiscountInput {
            code: request.code,
            description: request.description,
            kind: request.kind,
            percentage_bps: request.percentage_bps,
            amount: request.amount,
            currency: request.currency,
            min_subtotal: request.min_subtotal,
            starts_at: request.starts_at,
            ends_at: request.ends_at,
            usage_limit: request.usage_limit,
            usage_limit_per_customer: request.usage_limit_per_customer,
            product_ids: request.product_ids,
            category_ids: request.category_ids,
            combinable: request.combinable,
            active: request.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Discount)]
pub struct DiscountDto {
    pub id: String,
    pub code: Option<String>,
    pub description: String,
    /// `percentage`, `fixed_amount` or `free_shipping`.
    pub kind: String,
    pub percentage_bps: Option<i64>,
    pub amount: Option<MoneyDto>,
    pub currency: Option<String>,
    pub min_subtotal: Option<MoneyDto>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub usage_limit: Option<i64>,
    pub usage_limit_per_customer: Option<i64>,
    pub product_ids: Vec<String>,
    pub category_ids: Vec<String>,
    pub combinable: bool,
    pub active: bool,
    /// Uses taken by orders and by checkouts still paying.
    pub times_used: i64,
    /// Only on `GET /v1/admin/discounts/{id}`: the orders that used it, newest first (at
    /// most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_ids: Option<Vec<String>>,
    pub created_at: String,
    pub updated_at: String,
}

impl DiscountDto {
    fn new(discount: Discount, order_ids: Option<Vec<String>>) -> Self {
        DiscountDto {
            id: discount.id,
            code: discount.code,
            description: discount.description,
            kind: discount.kind.as_str().to_owned(),
            percentage_bps: discount.percentage_bps,
            amount: discount.amount.map(Into::into),
            currency: discount.currency.map(|currency| currency.to_string()),
            min_subtotal: discount.min_subtotal.map(Into::into),
            starts_at: discount.starts_at.map(time),
            ends_at: discount.ends_at.map(time),
            usage_limit: discount.usage_limit,
            usage_limit_per_customer: discount.usage_limit_per_customer,
            product_ids: discount.product_ids,
            category_ids: discount.category_ids,
            combinable: discount.combinable,
            active: discount.active,
            times_used: discount.times_used,
            order_ids,
            created_at: time(discount.created_at),
            updated_at: time(discount.updated_at),
        }
    }
}
