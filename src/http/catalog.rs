//! The public catalog (contract: Catalog).

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, MoneyDto, PageQuery, time};
use super::{AppState, Json};
use crate::app::caching::Keepable;
use crate::domain::catalog::{self, Category, Product, ProductListing, ProductQuery, ProductSort, Variant};
use crate::domain::money::Currency;
use crate::domain::{DomainError, PageRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/products", get(list_products))
        .route("/v1/products/{id_or_slug}", get(get_product))
        .route("/v1/categories", get(list_categories))
        .route_layer(axum::middleware::from_fn(super::middleware::catalog_cache))
}

/// Published products. `q` is full-text (titles, SKUs, category names, descriptions):
/// every word must match, as itself, as the start of a longer word, or (four letters or
/// more) with one typo; best matches first, title matches above the rest.
#[utoipa::path(get, path = "/v1/products", tag = "catalog", params(ProductListQuery),
    responses((status = 200, body = ProductListResponse), (status = 422, body = Problem)))]
pub async fn list_products(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProductListQuery>,
) -> ApiResult<(Extension<Keepable>, Json<ProductListResponse>)> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let currency = state
        .shop
        .currency_or_default(&state.store, query.currency.as_deref())
        .await?;
    let filter = query.into_filter(Some(currency))?;
    let listing = catalog::list_products(&state.store, &filter, &page).await?;
    let products = listing.page.data.iter().map(|product| product.id.clone()).collect();
    Ok((
        Extension(Keepable { products }),
        Json(ProductListResponse::new(listing, Some(currency))),
    ))
}

/// A published product by id or slug.
#[utoipa::path(get, path = "/v1/products/{id_or_slug}", tag = "catalog",
    params(("id_or_slug" = String, Path, description = "a product id (`prod_...`) or slug"), CurrencyQuery),
    responses((status = 200, body = ProductDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    ApiPath(id_or_slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<CurrencyQuery>,
) -> ApiResult<(Extension<Keepable>, Json<ProductDto>)> {
    let currency = state
        .shop
        .currency_or_default(&state.store, query.currency.as_deref())
        .await?;
    let product = catalog::get_product(&state.store, &id_or_slug).await?;
    let products = vec![product.id.clone()];
    Ok((
        Extension(Keepable { products }),
        Json(ProductDto::new(product, Some(currency))),
    ))
}

/// Every category, newest first.
#[utoipa::path(get, path = "/v1/categories", tag = "catalog", params(PageQuery),
    responses((status = 200, body = ListResponse<CategoryDto>), (status = 422, body = Problem)))]
pub async fn list_categories(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<(Extension<Keepable>, Json<ListResponse<CategoryDto>>)> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let categories = catalog::list_categories(&state.store, &page).await?;
    Ok((
        Extension(Keepable::default()),
        Json(ListResponse::from_page(categories, Into::into)),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Words to find in titles, SKUs, category names and descriptions.
    pub q: Option<String>,
    /// A category id or slug.
    pub category: Option<String>,
    /// `relevance` (the default with `q`; needs it), `newest` (the default without),
    /// `price_asc` or `price_desc` (by the lowest variant price; unpriced last).
    pub sort: Option<String>,
    /// Only products with a variant priced at least this, in minor units of the listing's
    /// currency.
    #[param(minimum = 0)]
    pub min_price: Option<i64>,
    /// Only products with a variant priced at most this (inclusive).
    #[param(minimum = 0)]
    pub max_price: Option<i64>,
    /// Add `facets` (category counts and the price range of every match) to the answer.
    pub facets: Option<bool>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// The currency `price` is shown in (one the shop sells in); default the shop's default.
    pub currency: Option<String>,
}

impl ProductListQuery {
    /// The listing it asks for, in `currency` (none: the shop's default).
    pub fn into_filter(self, currency: Option<Currency>) -> ApiResult<ProductQuery> {
        let sort =
            match self.sort.as_deref() {
                None => None,
                Some(value) => Some(ProductSort::parse(value).ok_or_else(|| {
                    DomainError::invalid("sort", "must be relevance, newest, price_asc or price_desc")
                })?),
            };
        Ok(ProductQuery {
            search: self.q,
            category: self.category,
            status: None,
            sort,
            min_price: self.min_price,
            max_price: self.max_price,
            currency,
            facets: self.facets.unwrap_or(false),
        })
    }
}

/// A page of products; with `facets=true`, what every match has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductListResponse {
    pub data: Vec<ProductDto>,
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<FacetsDto>,
}

impl ProductListResponse {
    pub fn new(listing: ProductListing, currency: Option<Currency>) -> Self {
        let ListResponse { data, next_cursor } =
            ListResponse::from_page(listing.page, |product| ProductDto::new(product, currency));
        ProductListResponse {
            data,
            next_cursor,
            facets: listing.facets.map(|facets| FacetsDto {
                categories: facets
                    .categories
                    .into_iter()
                    .map(|(id, count)| CategoryCountDto { id, count })
                    .collect(),
                price: facets.price.map(|(min, max)| PriceRangeDto {
                    min: min.into(),
                    max: max.into(),
                }),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Facets)]
pub struct FacetsDto {
    /// Matching products per category, most first.
    pub categories: Vec<CategoryCountDto>,
    /// The lowest and highest variant price of the matches; null when none is priced in
    /// the listing's currency.
    pub price: Option<PriceRangeDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CategoryCount)]
pub struct CategoryCountDto {
    pub id: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PriceRange)]
pub struct PriceRangeDto {
    pub min: MoneyDto,
    pub max: MoneyDto,
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
    /// In their order: the first is the product's picture in lists.
    pub images: Vec<super::images::ImageDto>,
    /// The class its tax rates are looked up in (`standard` unless said).
    pub tax_class: String,
    /// What search engines show for it (the page's title); empty: its title.
    pub seo_title: String,
    /// The page's meta description; empty: the start of its description.
    pub seo_description: String,
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
            images: product.images.into_iter().map(Into::into).collect(),
            tax_class: product.tax_class,
            seo_title: product.seo_title,
            seo_description: product.seo_description,
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
