//! Shipping options (contract: The shop, currencies, shipping and tax): staff define them;
//! carts list the ones that fit.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, MoneyDto, PageQuery, nullable};
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::money::Money;
use crate::domain::pricing::{ShippingOption, ShippingRate, WeightTier};
use crate::domain::shipping::{self, ShippingOptionInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/shipping-options", get(list_options).post(create_option))
        .route(
            "/v1/admin/shipping-options/{id}",
            get(get_option).patch(update_option).delete(delete_option),
        )
}

/// Every shipping option, newest first.
#[utoipa::path(get, path = "/v1/admin/shipping-options", tag = "staff", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ShippingOptionDto>), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_options(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<ShippingOptionDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let options = shipping::list_shipping_options(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(options, Into::into)))
}

/// Creates a shipping option: flat or by weight, for a list of countries (none: every
/// country), free over an amount if `free_over` is given. Amounts are integer minor units.
#[utoipa::path(post, path = "/v1/admin/shipping-options", tag = "staff", request_body = NewShippingOptionRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ShippingOptionDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_option(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewShippingOptionRequest>,
) -> ApiResult<Created<ShippingOptionDto>> {
    let input = ShippingOptionInput {
        name: Some(body.name),
        currency: Some(body.currency),
        countries: Some(body.countries),
        rate: Some(body.rate.into()),
        free_over: Some(body.free_over),
    };
    Ok(Created(
        shipping::create_shipping_option(&state.store, &caller, input)
            .await?
            .into(),
    ))
}

/// A shipping option.
#[utoipa::path(get, path = "/v1/admin/shipping-options/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ShippingOptionDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_option(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ShippingOptionDto>> {
    Ok(Json(
        shipping::get_shipping_option(&state.store, &caller, &id).await?.into(),
    ))
}

/// Changes any field of a shipping option; `free_over: null` removes the threshold.
#[utoipa::path(patch, path = "/v1/admin/shipping-options/{id}", tag = "staff", params(("id" = String, Path)),
    request_body = ShippingOptionPatchRequest, security(("bearer" = [])),
    responses((status = 200, body = ShippingOptionDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_option(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ShippingOptionPatchRequest>,
) -> ApiResult<Json<ShippingOptionDto>> {
    let input = ShippingOptionInput {
        name: body.name,
        currency: body.currency,
        countries: body.countries,
        rate: body.rate.map(Into::into),
        free_over: body.free_over,
    };
    Ok(Json(
        shipping::update_shipping_option(&state.store, &caller, &id, input)
            .await?
            .into(),
    ))
}

/// Deletes a shipping option: open carts no longer count it; orders keep what they paid.
#[utoipa::path(delete, path = "/v1/admin/shipping-options/{id}", tag = "staff", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_option(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    shipping::delete_shipping_option(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How an option is priced, as sent: amounts in integer minor units.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateRequest {
    /// One amount, whatever the cart weighs.
    Flat { amount: i64 },
    /// The first tier whose `up_to_grams` is at least the cart's weight; a heavier cart
    /// does not fit the option.
    Weight { tiers: Vec<TierRequest> },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierRequest {
    pub up_to_grams: i64,
    pub amount: i64,
}

impl From<RateRequest> for ShippingRate {
    fn from(rate: RateRequest) -> Self {
        match rate {
            RateRequest::Flat { amount } => ShippingRate::Flat { amount },
            RateRequest::Weight { tiers } => ShippingRate::Weight {
                tiers: tiers
                    .into_iter()
                    .map(|tier| WeightTier {
                        up_to_grams: tier.up_to_grams,
                        amount: tier.amount,
                    })
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShippingOptionRequest {
    pub name: String,
    /// One of the shop's currencies.
    pub currency: String,
    /// ISO 3166-1 alpha-2 codes; empty or absent: every country.
    #[serde(default)]
    pub countries: Vec<String>,
    pub rate: RateRequest,
    /// Minor units: the option costs 0 when the cart's subtotal less discounts reaches it.
    pub free_over: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingOptionPatchRequest {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub countries: Option<Vec<String>>,
    pub rate: Option<RateRequest>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub free_over: Option<Option<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionDto {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub countries: Vec<String>,
    pub rate: RateDto,
    pub free_over: Option<MoneyDto>,
}

/// How an option is priced.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RateDto {
    Flat { amount: MoneyDto },
    Weight { tiers: Vec<TierDto> },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierDto {
    pub up_to_grams: i64,
    pub amount: MoneyDto,
}

impl From<ShippingOption> for ShippingOptionDto {
    fn from(option: ShippingOption) -> Self {
        let money = |amount| MoneyDto::from(Money::new(amount, option.currency));
        ShippingOptionDto {
            rate: match &option.rate {
                ShippingRate::Flat { amount } => RateDto::Flat { amount: money(*amount) },
                ShippingRate::Weight { tiers } => RateDto::Weight {
                    tiers: tiers
                        .iter()
                        .map(|tier| TierDto {
                            up_to_grams: tier.up_to_grams,
                            amount: money(tier.amount),
                        })
                        .collect(),
                },
            },
            free_over: option.free_over.map(money),
            currency: option.currency.to_string(),
            id: option.id,
            name: option.name,
            countries: option.countries,
        }
    }
}
