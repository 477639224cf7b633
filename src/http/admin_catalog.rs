//! The staff's catalog (contract: Staff): products, variants, categories and stock
//! adjustments. Every operation checks the caller's permission itself.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, patch, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::{CategoryDto, CurrencyQuery, ProductDto, ProductListQuery, ProductListResponse, VariantDto};
use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::MoneyDto;
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::catalog::{self, NewProduct, PriceInput, ProductPatch};
use crate::domain::inventory::{self, StockLevel};
use crate::domain::money::Currency;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/products", post(create_product).get(list_products))
        .route("/v1/admin/products/{id}", get(get_product).patch(update_product))
        .route("/v1/admin/products/{id}/variants", post(add_variant))
        .route("/v1/admin/variants/{id}", patch(update_variant))
        .route("/v1/admin/categories", post(create_category))
        .route("/v1/admin/inventory/{variant_id}/adjust", post(adjust_inventory))
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
        tax_class: body.tax_class,
        seo_title: body.seo_title,
        seo_description: body.seo_description,
        variants: body.variants.into_iter().map(Into::into).collect(),
    };
    let product = catalog::create_product(&state.store, &caller, input).await?;
    Ok(Created(ProductDto::new(product, None)))
}

/// Every product, whatever its status, newest first.
#[utoipa::path(get, path = "/v1/admin/products", tag = "staff", params(ProductListQuery), security(("bearer" = [])),
    responses((status = 200, body = ProductListResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_products(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<ProductListQuery>,
) -> ApiResult<Json<ProductListResponse>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let currency = staff_currency(&state, query.currency.as_deref()).await?;
    let filter = query.into_filter(currency)?;
    let listing = catalog::list_products_as_staff(&state.store, &caller, &filter, &page).await?;
    Ok(Json(ProductListResponse::new(listing, currency)))
}

/// A product by id or slug, whatever its status.
#[utoipa::path(get, path = "/v1/admin/products/{id}", tag = "staff", params(("id" = String, Path), CurrencyQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CurrencyQuery>,
) -> ApiResult<Json<ProductDto>> {
    let product = catalog::get_product_as_staff(&state.store, &caller, &id).await?;
    let currency = staff_currency(&state, query.currency.as_deref()).await?;
    Ok(Json(ProductDto::new(product, currency)))
}

/// The currency staff asked to see prices in; none: each variant's own (as v1 showed them).
async fn staff_currency(state: &AppState, requested: Option<&str>) -> ApiResult<Option<Currency>> {
    match requested {
        None => Ok(None),
        Some(code) => Ok(Some(state.shop.currency_or_default(&state.store, Some(code)).await?)),
    }
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
        tax_class: body.tax_class,
        seo_title: body.seo_title,
        seo_description: body.seo_description,
    };
    let product = catalog::update_product(&state.store, &caller, &id, patch).await?;
    Ok(Json(ProductDto::new(product, None)))
}

/// Adds a variant to a product: its SKU, title, prices, weight and starting stock.
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
    let variant = catalog::add_variant(&state.store, &caller, &id, body.into()).await?;
    Ok(Created(VariantDto::new(variant, None)))
}

/// Changes a variant's SKU, title, prices or weight.
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
    let variant = catalog::update_variant(&state.store, &caller, &id, body.into()).await?;
    Ok(Json(VariantDto::new(variant, None)))
}

/// Creates a category; its slug is made from the name unless given.
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    pub title: Option<String>,
    /// Its own price; its currency is the variant's own for good.
    pub price: MoneyDto,
    /// Its prices in other currencies the shop sells in (an entry in `price`'s currency
    /// must agree with it).
    #[serde(default)]
    pub prices: Vec<MoneyDto>,
    /// Units on hand to start with; default 0.
    pub inventory: Option<i64>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The weight of one unit, for shipping priced by weight; default 0.
    pub weight_grams: Option<i64>,
}

impl From<NewVariantRequest> for crate::domain::catalog::NewVariant {
    fn from(request: NewVariantRequest) -> Self {
        crate::domain::catalog::NewVariant {
            sku: request.sku,
            title: request.title,
            price: request.price.into(),
            prices: request.prices.into_iter().map(Into::into).collect(),
            inventory: request.inventory,
            options: request.options,
            weight_grams: request.weight_grams,
        }
    }
}

/// The fields of a variant that may change; stock changes go through the inventory
/// adjustment, with a reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatchRequest {
    pub sku: Option<String>,
    pub title: Option<String>,
    /// The new price, in the variant's own currency.
    pub price: Option<MoneyDto>,
    /// Replaces its prices in other currencies; an entry in its own currency changes
    /// `price`, which otherwise stays.
    pub prices: Option<Vec<MoneyDto>>,
    pub weight_grams: Option<i64>,
}

impl From<VariantPatchRequest> for crate::domain::catalog::VariantPatch {
    fn from(request: VariantPatchRequest) -> Self {
        crate::domain::catalog::VariantPatch {
            sku: request.sku,
            title: request.title,
            price: request.price.map(Into::into),
            prices: request
                .prices
                .map(|prices| prices.into_iter().map(Into::into).collect()),
            weight_grams: request.weight_grams,
        }
    }
}

impl From<MoneyDto> for PriceInput {
    fn from(money: MoneyDto) -> Self {
        PriceInput {
            amount: money.amount,
            currency: money.currency,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Lower-case letters, digits and hyphens; made from the title when missing.
    pub slug: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// `draft` (default), `published` or `archived`.
    pub status: Option<String>,
    #[serde(default)]
    pub category_ids: Vec<String>,
    /// The class its tax rates are looked up in; default `standard`.
    pub tax_class: Option<String>,
    /// The page title search engines show; default: the title.
    #[schema(max_length = 70)]
    pub seo_title: Option<String>,
    /// The meta description search engines show; default: the start of the description.
    #[schema(max_length = 320)]
    pub seo_description: Option<String>,
    pub variants: Vec<NewVariantRequest>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub slug: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    pub status: Option<String>,
    pub category_ids: Option<Vec<String>>,
    pub tax_class: Option<String>,
    #[schema(max_length = 70)]
    pub seo_title: Option<String>,
    #[schema(max_length = 320)]
    pub seo_description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub slug: Option<String>,
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStockRequest {
    /// Units to add (negative to remove).
    pub delta: i64,
    /// Why, for the stock ledger.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StockLevel)]
pub struct StockLevelDto {
    pub variant_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

impl StockLevelDto {
    pub fn new(variant_id: String, level: StockLevel) -> Self {
        StockLevelDto {
            variant_id,
            on_hand: level.on_hand,
            reserved: level.reserved,
            available: level.available(),
        }
    }
}
