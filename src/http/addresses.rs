//! A signed-in customer's saved addresses (contract: Catalog depth).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, Caller};
use super::problem::{ApiResult, Problem};
use super::shapes::{AddressDto, ListResponse, time};
use super::{AppState, Created, Json};
use crate::domain::accounts::addresses::{self, SavedAddress};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me/addresses", get(list_addresses).post(save_address))
        .route("/v1/me/addresses/{id}", delete(delete_address))
}

/// An address the customer saved: `address` is what a checkout takes as its
/// `shipping_address`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SavedAddress)]
pub struct SavedAddressDto {
    pub id: String,
    pub address: AddressDto,
    pub created_at: String,
}

impl From<SavedAddress> for SavedAddressDto {
    fn from(saved: SavedAddress) -> Self {
        SavedAddressDto {
            id: saved.id,
            address: saved.address.into(),
            created_at: time(saved.created_at),
        }
    }
}

/// The signed-in customer's saved addresses, oldest first (at most 20, one page).
#[utoipa::path(get, path = "/v1/me/addresses", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = ListResponse<SavedAddressDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_addresses(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ListResponse<SavedAddressDto>>> {
    let saved = addresses::list_addresses(&state.store, &caller).await?;
    Ok(Json(ListResponse {
        data: saved.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Saves an address for checkouts to come; 422 past 20.
#[utoipa::path(post, path = "/v1/me/addresses", tag = "customers", security(("bearer" = [])), request_body = AddressDto,
    responses((status = 201, body = SavedAddressDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn save_address(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<AddressDto>,
) -> ApiResult<Created<SavedAddressDto>> {
    let saved = addresses::save_address(&state.store, &caller, &body.into()).await?;
    Ok(Created(saved.into()))
}

/// Deletes a saved address.
#[utoipa::path(delete, path = "/v1/me/addresses/{id}", tag = "customers", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_address(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    addresses::delete_address(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
