//! The shop's settings (contract: The shop, currencies, shipping and tax): public to
//! read, admins to change.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, patch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, Staff};
use super::problem::{ApiResult, Problem};
use super::{AppState, Json};
use crate::domain::shop::{self, Shop, ShopPatch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/shop", get(get_shop))
        .route("/v1/admin/shop", patch(update_shop))
}

/// The shop: its name, the currencies it sells in and whether its prices include tax.
#[utoipa::path(get, path = "/v1/shop", tag = "catalog", responses((status = 200, body = ShopDto)))]
pub async fn get_shop(State(state): State<AppState>) -> ApiResult<Json<ShopDto>> {
    Ok(Json(state.shop.get(&state.store).await?.into()))
}

/// Changes any of the shop's settings (admins only). The default currency must be one the
/// shop sells in.
#[utoipa::path(patch, path = "/v1/admin/shop", tag = "administration", request_body = ShopPatchRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ShopDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_shop(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<ShopPatchRequest>,
) -> ApiResult<Json<ShopDto>> {
    let patch = ShopPatch {
        name: body.name,
        default_currency: body.default_currency,
        currencies: body.currencies,
        prices_include_tax: body.prices_include_tax,
        low_stock_threshold: body.low_stock_threshold,
    };
    Ok(Json(shop::update_shop(&state.store, &caller, patch).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShopDto {
    pub name: String,
    /// What carts are in unless they ask for another of `currencies`.
    pub default_currency: String,
    /// ISO 4217 codes of every currency the shop sells in.
    pub currencies: Vec<String>,
    /// Prices and shipping amounts contain their tax (else tax is added on top).
    pub prices_include_tax: bool,
    /// `inventory.low` fires when a variant's available units fall to this many.
    pub low_stock_threshold: i64,
}

impl From<Shop> for ShopDto {
    fn from(shop: Shop) -> Self {
        ShopDto {
            name: shop.name,
            default_currency: shop.default_currency.to_string(),
            currencies: shop.currencies.iter().map(ToString::to_string).collect(),
            prices_include_tax: shop.prices_include_tax,
            low_stock_threshold: shop.low_stock_threshold,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopPatchRequest {
    pub name: Option<String>,
    pub default_currency: Option<String>,
    pub currencies: Option<Vec<String>>,
    pub prices_include_tax: Option<bool>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub low_stock_threshold: Option<i64>,
}
