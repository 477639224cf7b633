//! HTTP caching of public reads, for the API (`http`) and the pages (`web`) alike: a weak
//! `ETag` (SHA-256 of the body; weak because compression may change the bytes on the wire,
//! not the content) and `Cache-Control: public, no-cache`, so clients and proxies keep a
//! copy but revalidate every time (stock levels change), and a matching `If-None-Match`
//! gets 304 with no body. Public catalog answers are also kept in the process
//! ([`AnswerCache`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::Digest;

use crate::domain::catalog_changes::{CatalogChanges, ReadMark};

/// The response to `request` with its ETag, or 304; `failed` answers when the body cannot
/// be read (each layer says an error its own way).
pub async fn revalidated(request: Request, next: Next, failed: impl FnOnce() -> Response) -> Response {
    revalidated_and_kept(None, request, next, failed).await
}

/// [`revalidated`], and kept in `cache` when its handler marks it [`Keepable`]. Kept
/// answers are served by [`AnswerCache::kept_answer`], before the request is routed.
pub async fn read_and_keep(
    cache: &AnswerCache,
    request: Request,
    next: Next,
    failed: impl FnOnce() -> Response,
) -> Response {
    revalidated_and_kept(Some(cache), request, next, failed).await
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
    /// The route template that answered it, for the request metrics.
    route: Arc<str>,
    products: Vec<String>,
    headers: HeaderMap,
    body: Bytes,
    /// The body gzipped, once a client that accepts gzip asks (None if it cannot be).
    gzipped: OnceLock<Option<Bytes>>,
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
        // Room for the gzipped copy too, which JSON makes a fraction of the body.
        let gzipped = self.body.len() / 2;
        FIXED + key.len() + self.body.len() + gzipped + headers + products
    }

    /// Its headers and body as `request_headers` accept them: gzipped where the client
    /// takes gzip. A kept answer is compressed once, not once per request as the
    /// compression layer would (which spent 40% of the server's CPU on kept lists).
    fn encoded_for(&self, request_headers: &HeaderMap) -> (HeaderMap, Bytes) {
        let mut headers = self.headers.clone();
        let gzipped = accepts_gzip(request_headers)
            .then(|| self.gzipped.get_or_init(|| gzip(&self.body)).clone())
            .flatten();
        let Some(gzipped) = gzipped else {
            return (headers, self.body.clone());
        };
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        (headers, gzipped)
    }
}

/// `body` gzipped at the default level: an answer kept is compressed once and sent many
/// times, so the smaller result is worth the time the fastest level would save.
fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::default());
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// Whether `Accept-Encoding` accepts gzip (RFC 9110 12.5.3): `gzip` (or `x-gzip`) with a
/// weight above 0, or, when neither is named, `*` with one. Our own because the
/// compression layer's negotiation (tower-http) is private to it.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut named = None;
    let mut any = None;
    let codings = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for coding in codings {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let weighted = parts
            .filter_map(|parameter| parameter.trim().split_once('='))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
            .is_none_or(|(_, weight)| weight.trim().parse::<f32>().is_ok_and(|weight| weight > 0.0));
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.unwrap_or(false) || weighted);
        } else if name == "*" {
            any = Some(weighted);
        }
    }
    named.or(any).unwrap_or(false)
}

impl AnswerCache {
    pub fn new(changes: Arc<CatalogChanges>, capacity_bytes: usize) -> Self {
        AnswerCache {
            changes,
            entries: Mutex::default(),
            capacity_bytes,
        }
    }

    /// The kept answer to `request` (with its caching headers, or 304) and the route that
    /// answered it, if the request is a GET, the answer is still current and the client does
    /// not ask for a fresh one.
    pub fn kept_answer(&self, request: &Request) -> Option<(Response, Arc<str>)> {
        if request.method() != axum::http::Method::GET || asks_for_fresh(request.headers()) {
            return None;
        }
        let kept = self.current(key_of(request))?;
        let (headers, body) = kept.encoded_for(request.headers());
        let response = answer(headers, body, &kept.etag, request.headers().get(header::IF_NONE_MATCH));
        Some((response, kept.route.clone()))
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

/// The answer to `request`, with its caching headers (or 304), read by `next` and kept in
/// `cache` (when there is one) if its handler marks it [`Keepable`].
async fn revalidated_and_kept(
    cache: Option<&AnswerCache>,
    request: Request,
    next: Next,
    failed: impl FnOnce() -> Response,
) -> Response {
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let key = key_of(&request).to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .map(Arc::from);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
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
            route: route.unwrap_or_else(|| Arc::from("unmatched")),
            products: keepable.products.clone(),
            headers: parts.headers.clone(),
            body: bytes.clone(),
            gzipped: OnceLock::new(),
            etag: etag.clone(),
        };
        cache.keep(key, kept);
    }
    answer(parts.headers, bytes, &etag, if_none_match.as_ref())
}

/// Answers are kept by path and query: what the router and the handlers read.
fn key_of(request: &Request) -> &str {
    request.uri().path_and_query().map_or("/", |path| path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_a_client_that_accepts_it() {
        for accepted in [
            &["gzip"][..],
            &["gzip, compress, deflate, br"],
            &["br;q=1.0, GZIP;q=0.5"],
            &["x-gzip"],
            &["*"],
            &["identity", "gzip; q=0.1"],
            &["br, *;q=0.3"],
        ] {
            assert!(accepts_gzip(&accepting(accepted)), "{accepted:?}");
        }
        for refused in [
            &[][..],
            &["identity"],
            &["br, deflate"],
            &["gzip;q=0"],
            &["gzip;q=0.0, *"],
            &["*;q=0"],
            &["gzip;q=nonsense"],
        ] {
            assert!(!accepts_gzip(&accepting(refused)), "{refused:?}");
        }
    }

    #[test]
    fn a_kept_answer_is_gzipped_once_and_decodes_to_its_body() {
        let body = Bytes::from(r#"{"data":[{"title":"Copper Lamp"}]}"#.repeat(50));
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let kept = Kept {
            read: CatalogChanges::default().mark(),
            route: Arc::from("/v1/products"),
            products: Vec::new(),
            headers,
            body: body.clone(),
            gzipped: OnceLock::new(),
            etag: HeaderValue::from_static("W/\"tag\""),
        };

        let (plain_headers, plain) = kept.encoded_for(&accepting(&["identity"]));
        assert_eq!(plain, body);
        assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());

        let (headers, gzipped) = kept.encoded_for(&accepting(&["gzip"]));
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        assert_eq!(headers[header::VARY], "accept-encoding");
        assert!(
            headers.get(header::CONTENT_LENGTH).is_none(),
            "the body's length changed"
        );
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut decoded).expect("gzip");
        assert_eq!(decoded.as_bytes(), &body[..]);
        assert!(gzipped.len() < body.len() / 4);

        let (_, again) = kept.encoded_for(&accepting(&["gzip"]));
        assert_eq!(again.as_ptr(), gzipped.as_ptr(), "compressed once");
    }
}
