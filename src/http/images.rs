//! Product images (contract: Catalog depth): staff upload, describe, reorder and remove
//! them; anyone fetches them, at their size or a narrower copy, cached for good.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff, caused_by};
use super::problem::{ApiError, ApiResult, Problem};
use super::{AppState, Created, Json};
use crate::domain::images::{self, ImagePatch, NewImage, ProductImage};
use crate::domain::{DomainError, FieldError};
use crate::media::images::MAX_UPLOAD_BYTES;

/// An upload's whole request: the image and the form's framing around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/products/{id}/images",
            post(upload_image).route_layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/v1/admin/products/{id}/images/{image_id}",
            patch(update_image).delete(delete_image),
        )
        .route("/media/images/{file}", get(image_file))
}

/// Whether `path` takes an upload's larger body (the idempotency layer reads bodies before
/// routing, so it asks).
pub fn is_upload(path: &str) -> bool {
    path.strip_prefix("/v1/admin/products/")
        .and_then(|rest| rest.strip_suffix("/images"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// A product's image.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Image)]
pub struct ImageDto {
    pub id: String,
    /// Serves the image at its own size; `?w=` (160, 320, 640 or 1280) a copy that wide
    /// (the image itself when it is no wider). Relative to the shop's address, except for
    /// an image linked by URL before uploads existed.
    pub url: String,
    pub alt: String,
    /// In pixels; `null` for an image linked by URL.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl From<ProductImage> for ImageDto {
    fn from(image: ProductImage) -> Self {
        let size = image.size();
        ImageDto {
            url: image.url(),
            width: size.map(|(width, _)| width),
            height: size.map(|(_, height)| height),
            id: image.id,
            alt: image.alt,
        }
    }
}

/// The form of an upload (documentation only: [`ImageUpload`] reads it).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImageUploadForm {
    /// A JPEG, PNG or WebP image of at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the image shows, for those who cannot see it.
    #[schema(max_length = 500)]
    alt: Option<String>,
}

/// Adds an image to the end of a product's images. It is decoded and re-encoded (its
/// metadata, GPS included, is dropped) and resized to the served widths.
#[utoipa::path(post, path = "/v1/admin/products/{id}/images", tag = "staff", params(("id" = String, Path)),
    request_body(content = ImageUploadForm, content_type = "multipart/form-data"), security(("bearer" = [])),
    responses((status = 201, body = ImageDto), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 413, body = Problem, description = "the image is over 10 MiB"),
              (status = 415, body = Problem, description = "not multipart/form-data, or the file is not a JPEG, PNG or WebP image"),
              (status = 422, body = Problem, description = "no file; an image that cannot be decoded or has too many pixels")))]
pub async fn upload_image(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
    upload: ImageUpload,
) -> ApiResult<Created<ImageDto>> {
    let image = images::add_image(&state.store, &state.media, &caller, &id, upload.0).await?;
    Ok(Created(image.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePatchRequest {
    #[schema(max_length = 500)]
    pub alt: Option<String>,
    /// Its place among the product's images: 0 is first (the picture in lists); past the
    /// end, last.
    #[schema(minimum = 0)]
    pub position: Option<i64>,
}

/// Changes an image's alt text, or moves it among the product's images.
#[utoipa::path(patch, path = "/v1/admin/products/{id}/images/{image_id}", tag = "staff",
    params(("id" = String, Path), ("image_id" = String, Path)), request_body = ImagePatchRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ImageDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_image(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, image_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ImagePatchRequest>,
) -> ApiResult<Json<ImageDto>> {
    let patch = ImagePatch {
        alt: body.alt,
        position: body.position,
    };
    let image = images::update_image(&state.store, &caller, &id, &image_id, patch).await?;
    Ok(Json(image.into()))
}

/// Removes an image from a product, and its files.
#[utoipa::path(delete, path = "/v1/admin/products/{id}/images/{image_id}", tag = "staff",
    params(("id" = String, Path), ("image_id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_image(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, image_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    images::delete_image(&state.store, &state.media, &caller, &id, &image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Other parameters are ignored: a cache-buster or a tracking parameter added by a CDN or a
/// mail tool must not break an image.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// A copy this many pixels wide: 160, 320, 640 or 1280.
    #[param(minimum = 160, maximum = 1280)]
    pub w: Option<u32>,
}

/// An image file (the `url` of a product's image). Its address changes when the image
/// does, so it is cached for a year.
#[utoipa::path(get, path = "/media/images/{file}", tag = "catalog",
    params(("file" = String, Path, description = "the image's id and extension, such as img_0196….jpg"), ImageQuery),
    responses((status = 200, description = "the image", content(("image/jpeg"), ("image/png"))),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn image_file(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> ApiResult<Response> {
    let (image, format) = images::image_file(&state.media, &file, query.w).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(image.size)),
        ],
        axum::body::Body::from_stream(image.chunks),
    )
        .into_response())
}

/// An upload's `multipart/form-data`: the part `file` (required) and `alt`.
pub struct ImageUpload(NewImage);

impl FromRequest<AppState> for ImageUpload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut form = Multipart::from_request(request, state).await.map_err(|_| {
            ApiError::UnsupportedMediaType("send the image as multipart/form-data, in a part named file".to_owned())
        })?;
        let mut upload = NewImage::default();
        let mut has_file = false;
        while let Some(mut part) = form.next_field().await.map_err(unreadable)? {
            match part.name() {
                Some("file") => {
                    let mut bytes = Vec::new();
                    while let Some(chunk) = part.chunk().await.map_err(unreadable)? {
                        if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                            return Err(ApiError::PayloadTooLarge(MAX_UPLOAD_BYTES));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    upload.bytes = Bytes::from(bytes);
                    has_file = true;
                }
                Some("alt") => upload.alt = Some(part.text().await.map_err(unreadable)?),
                other => {
                    return Err(invalid(
                        other.unwrap_or("(unnamed)"),
                        "is not a part of an upload: send file and alt",
                    ));
                }
            }
        }
        if !has_file {
            return Err(invalid("file", "is required: the image, as a part named file"));
        }
        Ok(ImageUpload(upload))
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Domain(DomainError::Validation(vec![FieldError::new(field, message)]))
}

fn unreadable(error: axum::extract::multipart::MultipartError) -> ApiError {
    if caused_by::<tower_http::timeout::TimeoutError>(&error) {
        return ApiError::RequestTimeout;
    }
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_UPLOAD_BYTES),
        _ => ApiError::BadRequest(format!("the form could not be read: {}", error.body_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::is_upload;

    #[test]
    fn upload_paths_are_known() {
        assert!(is_upload("/v1/admin/products/prod_1/images"));
        assert!(!is_upload("/v1/admin/products/prod_1/images/img_1"));
        assert!(!is_upload("/v1/admin/products//images"));
        assert!(!is_upload("/v1/admin/products"));
    }
}
