//! HTTP caching of public reads, for the API (`http`) and the pages (`web`) alike: a weak
//! `ETag` (SHA-256 of the body; weak because compression may change the bytes on the wire,
//! not the content) and `Cache-Control: public, no-cache`, so clients and proxies keep a
//! copy but revalidate every time (stock levels change), and a matching `If-None-Match`
//! gets 304 with no body. Public catalog answers are also kept in the process
//! ([`AnswerCache`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::Digest;

use crate::domain::catalog_changes::{CatalogChanges, ReadMark};

/// The response to `request` with its ETag, or 304; `failed` answers when the body cannot
/// be read (each layer says an error its own way).
pub async fn revalidated(request: Request, next: Next, failed: impl FnOnce() -> Response) -> Response {
    kept_or_revalidated(None, request, next, failed).await
}

/// A weak ETag of `body`.
fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = sha2::Sha256::digest(body);
    let tag: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("W/\"{tag}\"")).unwrap_or_else(|_| HeaderValue::from_static("W/\"\""))
}

/// A 200 of `body` with its caching headers, or a 304 when `if_none_match` holds `etag`.
fn answer(mut headers: HeaderMap, body: Bytes, etag: &HeaderValue, if_none_match: Option<&HeaderValue>) -> Response {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    headers.insert(header::ETAG, etag.clone());
    let matches = if_none_match
        .and_then(|value| value.to_str().ok())
        .zip(etag.to_str().ok())
        .is_some_and(|(value, etag)| {
            // Weak comparison (RFC 9110): a W/ prefix does not count.
            let ours = etag.trim_start_matches("W/");
            value
                .split(',')
                .map(str::trim)
                .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == ours)
        });
    let mut response = if matches {
        headers.remove(header::CONTENT_LENGTH);
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        Response::new(axum::body::Body::from(body))
    };
    *response.headers_mut() = headers;
    response
}

/// Set by a handler on an answer that may be kept and served again until the catalog
/// changes: the products whose stock it shows (none for an answer about no product).
#[derive(Debug, Clone, Default)]
pub struct Keepable {
    pub products: Vec<String>,
}

/// Public catalog answers kept in memory, by request, so that a read of the catalog is
/// served without the database while nothing it shows has changed ([`CatalogChanges`]:
/// this process's writes are heard as they commit, other processes' through the
/// database's notifications), and a second at most
/// ([`crate::domain::catalog_changes::LONGEST_KEPT`]), for writes nobody announced (a
/// `backroom import` on the same SQLite file).
pub struct AnswerCache {
    changes: Arc<CatalogChanges>,
    entries: Mutex<Entries>,
    capacity_bytes: usize,
}

/// The memory kept answers may take (their bodies).
pub const CAPACITY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Entries {
    by_request: HashMap<String, Arc<Kept>>,
    bytes: usize,
}

struct Kept {
    /// The catalog's tick before it was read.
    read: ReadMark,
    products: Vec<String>,
    headers: HeaderMap,
    body: Bytes,
    etag: HeaderValue,
}

impl Kept {
    /// What it takes in memory, roughly: its body, key, headers and products, and a fixed
    /// part for the rest, so that many small answers are counted too.
    fn size(&self, key: &str) -> usize {
        const FIXED: usize = 512;
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let products: usize = self.products.iter().map(String::len).sum();
        FIXED + key.len() + self.body.len() + headers + products
    }
}

impl AnswerCache {
    pub fn new(changes: Arc<CatalogChanges>, capacity_bytes: usize) -> Self {
        AnswerCache {
            changes,
            entries: Mutex::default(),
            capacity_bytes,
        }
    }

    /// The kept answer to `key`, if it is still current.
    fn current(&self, key: &str) -> Option<Arc<Kept>> {
        let kept = self.lock().by_request.get(key).cloned()?;
        self.changes.still_current(kept.read, &kept.products).then_some(kept)
    }

    fn keep(&self, key: String, kept: Kept) {
        let size = kept.size(&key);
        if size > self.capacity_bytes / 16 {
            return;
        }
        let mut entries = self.lock();
        if let Some(replaced) = entries.by_request.remove(&key) {
            entries.bytes -= replaced.size(&key);
        }
        // Room is made by dropping answers in no particular order: cheap, and a dropped
        // answer costs one read of the database.
        while entries.bytes + size > self.capacity_bytes {
            let Some(victim) = entries.by_request.keys().next().cloned() else {
                break;
            };
            if let Some(dropped) = entries.by_request.remove(&victim) {
                entries.bytes -= dropped.size(&victim);
            }
        }
        entries.bytes += size;
        entries.by_request.insert(key, Arc::new(kept));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request's `Cache-Control: no-cache` (or `Pragma: no-cache`, as a browser's hard
/// reload sends): the client wants the answer read now, not a kept one.
fn asks_for_fresh(headers: &HeaderMap) -> bool {
    [header::CACHE_CONTROL, header::PRAGMA].iter().any(|name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|directive| {
                matches!(
                    directive.trim().to_ascii_lowercase().as_str(),
                    "no-cache" | "no-store" | "max-age=0"
                )
            })
    })
}

/// [`revalidated`], answered from `cache` (when there is one) while the kept answer is
/// current, unless the client asks for a fresh one; answers that their handler marks
/// [`Keepable`] are kept.
pub async fn kept_or_revalidated(
    cache: Option<&AnswerCache>,
    request: Request,
    next: Next,
    failed: impl FnOnce() -> Response,
) -> Response {
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let key = request.uri().to_string();
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let fresh = asks_for_fresh(request.headers());
    if let Some(kept) = cache.filter(|_| !fresh).and_then(|cache| cache.current(&key)) {
        return answer(
            kept.headers.clone(),
            kept.body.clone(),
            &kept.etag,
            if_none_match.as_ref(),
        );
    }
    let read = cache.map(|cache| cache.changes.mark());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return failed();
    };
    let etag = etag_of(&bytes);
    if let (Some(cache), Some(read), Some(keepable)) = (cache, read, parts.extensions.get::<Keepable>()) {
        let kept = Kept {
            read,
            products: keepable.products.clone(),
            headers: parts.headers.clone(),
            body: bytes.clone(),
            etag: etag.clone(),
        };
        cache.keep(key, kept);
    }
    answer(parts.headers, bytes, &etag, if_none_match.as_ref())
}
