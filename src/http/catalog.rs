//! The public catalog (contract: Catalog).

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::dto::{CategoryDto, ListResponse, PageQuery, ProductDto, ProductListQuery};
use super::extract::ApiPath;
use super::extract::ApiQuery;
use super::problem::{ApiResult, Problem};
use super::{AppState, Json};
use crate::domain::PageRequest;
use crate::domain::catalog::{self, ProductQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/products", get(list_products))
        .route("/v1/products/{id_or_slug}", get(get_product))
        .route("/v1/categories", get(list_categories))
        .route_layer(axum::middleware::from_fn(super::middleware::catalog_cache))
}

/// Published products, newest first; `q` searches titles and descriptions.
#[utoipa::path(get, path = "/v1/products", tag = "catalog", params(ProductListQuery),
    responses((status = 200, body = ListResponse<ProductDto>), (status = 422, body = Problem)))]
pub async fn list_products(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProductListQuery>,
) -> ApiResult<Json<ListResponse<ProductDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = ProductQuery {
        search: query.q,
        category: query.category,
        status: None,
    };
    let products = catalog::list_products(&state.store, &filter, &page).await?;
    Ok(Json(ListResponse::from_page(products, Into::into)))
}

/// A published product by id or slug.
#[utoipa::path(get, path = "/v1/products/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "a product id (`prod_...`) or slug")),
    responses((status = 200, body = ProductDto), (status = 404, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    ApiPath(id_or_slug): ApiPath<String>,
) -> ApiResult<Json<ProductDto>> {
    Ok(Json(catalog::get_product(&state.store, &id_or_slug).await?.into()))
}

/// Every category, newest first.
#[utoipa::path(get, path = "/v1/categories", tag = "catalog", params(PageQuery),
    responses((status = 200, body = ListResponse<CategoryDto>), (status = 422, body = Problem)))]
pub async fn list_categories(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<CategoryDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let categories = catalog::list_categories(&state.store, &page).await?;
    Ok(Json(ListResponse::from_page(categories, Into::into)))
}
