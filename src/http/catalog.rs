//! The public catalog (contract: Catalog).

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::extract::ApiPath;
use super::extract::ApiQuery;
use super::problem::{ApiResult, Problem};
use super::{AppState, Json};
use crate::domain::catalog::{self, ProductQuery};
use crate::domain::{PageRequest, shop};

use super::shapes::{ListResponse, MoneyDto, PageQuery, time};
use crate::domain::catalog::{Category, Product, Variant};
use crate::domain::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

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
    let currency = shop::currency_or_default(&state.store, query.currency.as_deref()).await?;
    let filter = ProductQuery {
        search: query.q,
        category: query.category,
        status: None,
    };
    let products = catalog::list_products(&state.store, &filter, &page).await?;
    Ok(Json(ListResponse::from_page(products, |product| {
        ProductDto::new(product, Some(currency))
    })))
}

/// A published product by id or slug.
#[utoipa::path(get, path = "/v1/products/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "a product id (`prod_...`) or slug"), CurrencyQuery),
    responses((status = 200, body = ProductDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    ApiPath(id_or_slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<CurrencyQuery>,
) -> ApiResult<Json<ProductDto>> {
    let currency = shop::currency_or_default(&state.store, query.currency.as_deref()).await?;
    let product = catalog::get_product(&state.store, &id_or_slug).await?;
    Ok(Json(ProductDto::new(product, Some(currency))))
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Words to find in titles and descriptions.
    pub q: Option<String>,
    /// A category id or slug.
    pub category: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// The currency `price` is shown in (one the shop sells in); default the shop's default.
    pub currency: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CurrencyQuery {
    /// The currency `price` is shown in (one the shop sells in); default the shop's default.
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Variant)]
pub struct VariantDto {
    pub id: String,
    pub sku: String,
    pub title: String,
    /// Its price in the currency asked for (`?currency=`, else the shop's default); `null`
    /// where it is not sold in that currency.
    pub price: Option<MoneyDto>,
    /// Its price in every currency it is sold in: its own first (the one it was created
    /// with), then the others by code.
    pub prices: Vec<MoneyDto>,
    /// Units that can be bought now: on hand minus reserved, never below 0.
    pub available: i64,
    pub options: BTreeMap<String, String>,
    /// The weight of one unit, for shipping priced by weight.
    pub weight_grams: i64,
}

impl VariantDto {
    /// The variant with `price` in `currency`, or in its own currency (`None`: what staff
    /// see unless they ask for one).
    pub fn new(variant: Variant, currency: Option<Currency>) -> Self {
        VariantDto {
            price: match currency {
                Some(currency) => variant.price_in(currency),
                None => variant.prices.first().copied(),
            }
            .map(Into::into),
            prices: variant.prices.iter().copied().map(Into::into).collect(),
            id: variant.id,
            sku: variant.sku,
            title: variant.title,
            available: variant.available,
            options: variant.options,
            weight_grams: variant.weight_grams,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Product)]
pub struct ProductDto {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub category_ids: Vec<String>,
    pub images: Vec<String>,
    /// The class its tax rates are looked up in (`standard` unless said).
    pub tax_class: String,
    pub variants: Vec<VariantDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl ProductDto {
    /// The product with its variants' `price` in `currency` (`None`: each in its own).
    pub fn new(product: Product, currency: Option<Currency>) -> Self {
        ProductDto {
            id: product.id,
            slug: product.slug,
            title: product.title,
            description: product.description,
            status: product.status.as_str().to_owned(),
            category_ids: product.category_ids,
            images: product.images,
            tax_class: product.tax_class,
            variants: product
                .variants
                .into_iter()
                .map(|variant| VariantDto::new(variant, currency))
                .collect(),
            created_at: time(product.created_at),
            updated_at: time(product.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Category)]
pub struct CategoryDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent_id: Option<String>,
    pub created_at: String,
}

impl From<Category> for CategoryDto {
    fn from(category: Category) -> Self {
        CategoryDto {
            id: category.id,
            name: category.name,
            slug: category.slug,
            parent_id: category.parent_id,
            created_at: time(category.created_at),
        }
    }
}
