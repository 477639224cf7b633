//! The catalog as a Shopify product CSV (contract: Catalog depth): import and export.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiQuery, Staff, collect_body};
use super::problem::{ApiError, ApiResult, Problem};
use super::{AppState, Json};
use crate::domain::DomainError;
use crate::domain::catalog_csv::{self, ImageSources, ImportReport};

pub const IMPORT_PATH: &str = "/v1/admin/products/import";
/// The largest file imported through the API: some 100,000 rows. Larger catalogs go
/// through `backroom import`, which has no limit.
pub const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/products/export", get(export_products))
}

/// The import, outside the request time limit: a large file, and the images it names,
/// take minutes.
pub fn untimed_router() -> Router<AppState> {
    Router::new().route(
        IMPORT_PATH,
        post(import_products).route_layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportDto {
    /// Products made.
    pub created: usize,
    /// Products changed (found by their handle, variants by SKU).
    pub updated: usize,
    /// The rows that changed nothing, and why.
    pub errors: Vec<ImportErrorDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportErrorDto {
    /// The row in the file, the header being row 1.
    pub row: usize,
    pub message: String,
}

impl From<ImportReport> for ImportReportDto {
    fn from(report: ImportReport) -> Self {
        ImportReportDto {
            created: report.created,
            updated: report.updated,
            errors: report
                .errors
                .into_iter()
                .map(|error| ImportErrorDto {
                    row: error.row,
                    message: error.message,
                })
                .collect(),
        }
    }
}

/// Imports products from a Shopify product CSV, row by row: a row that fails changes
/// nothing and is reported; products are found by handle and variants by SKU, so a file
/// imported again updates them. Prices are in the shop's default currency;
/// `Variant Inventory Qty` is what can be sold.
#[utoipa::path(post, path = "/v1/admin/products/import", tag = "staff",
    request_body(content = String, content_type = "text/csv", description = "a Shopify product CSV, up to 32 MiB"),
    security(("bearer" = [])),
    responses((status = 200, body = ImportReportDto), (status = 403, body = Problem),
              (status = 413, body = Problem, description = "the file is over 32 MiB: use `backroom import`"),
              (status = 415, body = Problem, description = "the body is not text/csv"),
              (status = 422, body = Problem, description = "not a Shopify product CSV (no Handle column, not UTF-8)")))]
pub async fn import_products(
    State(state): State<AppState>,
    Staff(caller): Staff,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReportDto>> {
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            matches!(
                mime.trim().to_ascii_lowercase().as_str(),
                "text/csv" | "application/csv"
            )
        });
    let bytes = collect_body(body, IMPORT_BODY_LIMIT).await?;
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType("send the file as text/csv".to_owned()));
    }
    // The import runs to its end even if the client stops waiting: its batches commit
    // one after the other.
    let report = super::detached(async move {
        let sources = ImageSources {
            media: &state.media,
            outbound: &state.outbound,
            public_url: &state.public_url,
        };
        catalog_csv::import_products(&state.store, &sources, &caller, &bytes).await
    })
    .await?;
    Ok(Json(report.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv`: Shopify's product CSV.
    pub format: String,
}

/// Every product in Shopify's product CSV: a row per variant, then a row per further image
/// (with absolute image addresses).
#[utoipa::path(get, path = "/v1/admin/products/export", tag = "staff", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "the catalog as a Shopify product CSV", content_type = "text/csv", body = String),
              (status = 403, body = Problem)))]
pub async fn export_products(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    if query.format != "csv" {
        return Err(DomainError::invalid("format", "must be csv").into());
    }
    let csv = catalog_csv::export_products(&state.store, &caller, &state.public_url).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"products.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}
