//! The staff API (contract: Staff). Every operation checks the staff role itself.

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};

use super::dto::{
    AdjustStockRequest, CategoryDto, FulfillRequest, ListResponse, NewCategoryRequest, NewProductRequest,
    NewVariantRequest, OrderDto, OrderListQuery, ProductDto, ProductListQuery, ProductPatchRequest, RefundRequest,
    StockLevelDto, VariantDto, VariantPatchRequest,
};
use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson, Staff};
use super::problem::{ApiResult, Problem};
use super::{AppState, Created, Json};
use crate::domain::catalog::{self, NewProduct, ProductPatch, ProductQuery};
use crate::domain::{PageRequest, inventory, orders};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/products", post(create_product).get(list_products))
        .route("/v1/admin/products/{id}", get(get_product).patch(update_product))
        .route("/v1/admin/products/{id}/variants", post(add_variant))
        .route("/v1/admin/variants/{id}", patch(update_variant))
        .route("/v1/admin/categories", post(create_category))
        .route("/v1/admin/inventory/{variant_id}/adjust", post(adjust_inventory))
        .route("/v1/admin/orders", get(list_orders))
        .route("/v1/admin/orders/{id}", get(get_order))
        .route("/v1/admin/orders/{id}/fulfill", post(fulfill_order))
        .route("/v1/admin/orders/{id}/cancel", post(cancel_order))
        .route("/v1/admin/orders/{id}/refund", post(refund_order))
}

pub fn streaming_router() -> Router<AppState> {
    Router::new().route("/v1/admin/events", get(events))
}

/// Creates a product with its variants (and their starting stock).
#[utoipa::path(post, path = "/v1/admin/products", tag = "staff", request_body = NewProductRequest, security(("bearer" = [])),
    responses((status = 201, body = ProductDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem, description = "slug or SKU taken"), (status = 422, body = Problem)))]
pub async fn create_product(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewProductRequest>,
) -> ApiResult<Created<ProductDto>> {
    let input = NewProduct {
        title: body.title,
        slug: body.slug,
        description: body.description,
        status: body.status,
        category_ids: body.category_ids,
        images: body.images,
        variants: body.variants.into_iter().map(Into::into).collect(),
    };
    Ok(Created(
        catalog::create_product(&state.store, &caller, input).await?.into(),
    ))
}

/// Every product, whatever its status, newest first.
#[utoipa::path(get, path = "/v1/admin/products", tag = "staff", params(ProductListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ProductDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_products(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<ProductListQuery>,
) -> ApiResult<Json<ListResponse<ProductDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = ProductQuery {
        search: query.q,
        category: query.category,
        status: None,
    };
    let products = catalog::list_products_as_staff(&state.store, &caller, &filter, &page).await?;
    Ok(Json(ListResponse::from_page(products, Into::into)))
}

/// A product by id or slug, whatever its status.
#[utoipa::path(get, path = "/v1/admin/products/{id}", tag = "staff", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProductDto>> {
    Ok(Json(
        catalog::get_product_as_staff(&state.store, &caller, &id).await?.into(),
    ))
}

/// Changes any of a product's fields.
#[utoipa::path(patch, path = "/v1/admin/products/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = ProductPatchRequest, security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProductPatchRequest>,
) -> ApiResult<Json<ProductDto>> {
    let patch = ProductPatch {
        title: body.title,
        slug: body.slug,
        description: body.description,
        status: body.status,
        category_ids: body.category_ids,
        images: body.images,
    };
    Ok(Json(
        catalog::update_product(&state.store, &caller, &id, patch).await?.into(),
    ))
}

#[utoipa::path(post, path = "/v1/admin/products/{id}/variants", tag = "staff", params(("id" = String, Path)),
    request_body = NewVariantRequest, security(("bearer" = [])),
    responses((status = 201, body = VariantDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "SKU taken"), (status = 422, body = Problem)))]
pub async fn add_variant(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewVariantRequest>,
) -> ApiResult<Created<VariantDto>> {
    Ok(Created(
        catalog::add_variant(&state.store, &caller, &id, body.into())
            .await?
            .into(),
    ))
}

/// Changes a variant's SKU, title or price (in its own currency).
#[utoipa::path(patch, path = "/v1/admin/variants/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = VariantPatchRequest, security(("bearer" = [])),
    responses((status = 200, body = VariantDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "SKU taken"), (status = 422, body = Problem)))]
pub async fn update_variant(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VariantPatchRequest>,
) -> ApiResult<Json<VariantDto>> {
    Ok(Json(
        catalog::update_variant(&state.store, &caller, &id, body.into())
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/v1/admin/categories", tag = "staff", request_body = NewCategoryRequest, security(("bearer" = [])),
    responses((status = 201, body = CategoryDto), (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_category(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewCategoryRequest>,
) -> ApiResult<Created<CategoryDto>> {
    let category = catalog::create_category(
        &state.store,
        &caller,
        &body.name,
        body.slug.as_deref(),
        body.parent_id.as_deref(),
    )
    .await?;
    Ok(Created(category.into()))
}

/// Adds `delta` units (negative to remove) with a reason for the stock ledger.
#[utoipa::path(post, path = "/v1/admin/inventory/{variant_id}/adjust", tag = "staff", params(("variant_id" = String, Path)),
    request_body = AdjustStockRequest, security(("bearer" = [])),
    responses((status = 200, body = StockLevelDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "on hand would fall below zero or below what is reserved"),
              (status = 422, body = Problem)))]
pub async fn adjust_inventory(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(variant_id): ApiPath<String>,
    ApiJson(body): ApiJson<AdjustStockRequest>,
) -> ApiResult<Json<StockLevelDto>> {
    let level = inventory::adjust_stock(&state.store, &caller, &variant_id, body.delta, &body.reason).await?;
    Ok(Json(StockLevelDto::new(variant_id, level)))
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

/// `paid` → `fulfilled`, with an optional tracking number.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/fulfill", tag = "staff", params(("id" = String, Path)),
    request_body(content = Option<FulfillRequest>), security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not paid")))]
pub async fn fulfill_order(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<FulfillRequest>,
) -> ApiResult<Json<OrderDto>> {
    Ok(Json(
        orders::fulfill(
            &state.store,
            &state.events,
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
        super::detached(
            async move { orders::cancel(&state.store, &state.payments, &state.events, &caller, &id).await },
        )
        .await?;
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
    let order = super::detached(async move {
        orders::refund(&state.store, &state.payments, &state.events, &caller, &id, body.amount).await
    })
    .await?;
    Ok(Json(order.into()))
}

/// Server-Sent Events of every event in the shop: `event:` is the type (`order.paid`,
/// `order.fulfilled`, `order.canceled`, `order.refunded`), `data:` the order.
#[utoipa::path(get, path = "/v1/admin/events", tag = "staff", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream"), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Staff(caller): Staff,
) -> ApiResult<impl IntoResponse> {
    let credential = crate::app::caller::presented_token(&headers).map(str::to_owned);
    super::orders::all_events(state, caller, credential, peer.ip()).await
}
