//! HTTP caching of public reads, for the API (`http`) and the pages (`web`) alike: a weak
//! `ETag` (SHA-256 of the body; weak because compression may change the bytes on the wire,
//! not the content) and `Cache-Control: public, no-cache`, so clients and proxies keep a
//! copy but revalidate every time (stock levels change), and a matching `If-None-Match`
//! gets 304 with no body.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::Digest;

/// The response to `request` with its ETag, or 304; `failed` answers when the body cannot
/// be read (each layer says an error its own way).
pub async fn revalidated(request: Request, next: Next, failed: impl FnOnce() -> Response) -> Response {
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return failed();
    };
    let digest = sha2::Sha256::digest(&bytes);
    let tag: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let etag = format!("W/\"{tag}\"");
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, value);
    }
    let matches = if_none_match
        .and_then(|value| value.to_str().ok().map(str::to_owned))
        .is_some_and(|value| {
            // Weak comparison (RFC 9110): a W/ prefix does not count.
            let ours = etag.trim_start_matches("W/");
            value
                .split(',')
                .map(str::trim)
                .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == ours)
        });
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
