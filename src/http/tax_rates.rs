//! Tax rates (contract: The shop, currencies, shipping and tax): per country, per
//! subdivision, per tax class, in basis points.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, PageQuery, nullable};
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::pricing::TaxRate;
use crate::domain::shipping::{self, TaxRateInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/tax-rates", get(list_rates).post(create_rate))
        .route(
            "/v1/admin/tax-rates/{id}",
            get(get_rate).patch(update_rate).delete(delete_rate),
        )
}

/// Every tax rate, newest first.
#[utoipa::path(get, path = "/v1/admin/tax-rates", tag = "staff", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<TaxRateDto>), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_rates(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<TaxRateDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let rates = shipping::list_tax_rates(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(rates, Into::into)))
}

/// Creates a tax rate. A rate with a `region` wins over its country's rate for addresses
/// there; shipping is taxed at the `standard` class.
#[utoipa::path(post, path = "/v1/admin/tax-rates", tag = "staff", request_body = NewTaxRateRequest,
    security(("bearer" = [])),
    responses((status = 201, body = TaxRateDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_rate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewTaxRateRequest>,
) -> ApiResult<Created<TaxRateDto>> {
    let input = TaxRateInput {
        name: Some(body.name),
        country: Some(body.country),
        region: Some(body.region),
        tax_class: body.tax_class,
        rate_bps: Some(body.rate_bps),
    };
    Ok(Created(
        shipping::create_tax_rate(&state.store, &caller, input).await?.into(),
    ))
}

/// A tax rate.
#[utoipa::path(get, path = "/v1/admin/tax-rates/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = TaxRateDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_rate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaxRateDto>> {
    Ok(Json(shipping::get_tax_rate(&state.store, &caller, &id).await?.into()))
}

/// Changes any field of a tax rate; `region: null` makes it the country's rate.
#[utoipa::path(patch, path = "/v1/admin/tax-rates/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = TaxRatePatchRequest, security(("bearer" = [])),
    responses((status = 200, body = TaxRateDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_rate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TaxRatePatchRequest>,
) -> ApiResult<Json<TaxRateDto>> {
    let input = TaxRateInput {
        name: body.name,
        country: body.country,
        region: body.region,
        tax_class: body.tax_class,
        rate_bps: body.rate_bps,
    };
    Ok(Json(
        shipping::update_tax_rate(&state.store, &caller, &id, input)
            .await?
            .into(),
    ))
}

/// Deletes a tax rate: open carts no longer count it; orders keep what they paid.
#[utoipa::path(delete, path = "/v1/admin/tax-rates/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_rate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    shipping::delete_tax_rate(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxRateRequest {
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 3166-2 subdivision such as `US-CA` (or `CA` with country `US`).
    pub region: Option<String>,
    /// `standard` unless said; products of this class are taxed at this rate.
    pub tax_class: Option<String>,
    /// Basis points: 1900 is 19 %; at most 10000.
    pub rate_bps: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRatePatchRequest {
    pub name: Option<String>,
    pub country: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    pub tax_class: Option<String>,
    pub rate_bps: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRateDto {
    pub id: String,
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub tax_class: String,
    pub rate_bps: i64,
}

impl From<TaxRate> for TaxRateDto {
    fn from(rate: TaxRate) -> Self {
        TaxRateDto {
            id: rate.id,
            name: rate.name,
            country: rate.country,
            region: rate.region,
            tax_class: rate.tax_class,
            rate_bps: rate.rate_bps,
        }
    }
}
