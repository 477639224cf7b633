//! Accepting connections and serving each with hyper, under the limits that keep a slow or
//! hostile client from holding the server's file descriptors.
//!
//! This is our own loop rather than `axum::serve` because that runs hyper without a timer,
//! so no header-read timeout applies: a client that never finished its request head, or
//! left a kept-alive connection idle, held it forever.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::app::client_slots::ClientSlots;
use crate::http::problem::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection must send a whole request head within this long of opening, or of its
    /// previous response: the header-read timeout and the idle keep-alive timeout in one
    /// (hyper runs one timer for both).
    pub header_timeout: Duration,
    /// Connections one client address may hold at once; `None` behind a proxy, where every
    /// client shares the proxy's address (the proxy limits them instead).
    pub per_client: Option<usize>,
}

/// Serves `router` on `listener` until `stop` completes, then lets in-flight requests
/// finish and closes idle connections.
/// A connection accepted just before the stop whose request has not been read yet is not
/// idle but early: it gets up to [`FIRST_REQUEST_WAIT`] for its first request. (Closed
/// unread, its client would get a reset, and a load balancer in front cannot send that
/// request elsewhere, as it was sent.)
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = limits.per_client.map(|per_client| ClientSlots::new(per_client.max(1)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let unheard = Arc::new(Unheard::default());
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let slot = match &slots {
            Some(slots) => match slots.take(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    // Closing at once frees the descriptor; answering would hold it longer.
                    tracing::warn!(client = %peer.ip(), "connection refused: the client holds its share of connections");
                    continue;
                }
            },
            None => None,
        };
        let first_request = FirstRequest::new(&unheard);
        let heard = first_request.clone();
        let service = tower::ServiceBuilder::new()
            .map_request(move |request| {
                heard.arrived();
                request
            })
            .layer(axum::Extension(ConnectInfo(peer)))
            .service(router.clone());
        let connection = graceful.watch(builder.serve_connection(
            TokioIo::new(ProblemAnswers::new(stream)),
            TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection.await {
                tracing::debug!(client = %peer, %error, "connection ended with an error");
            }
            first_request.arrived();
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(FIRST_REQUEST_WAIT.min(limits.header_timeout), unheard.all_heard()).await;
    graceful.shutdown().await;
    Ok(())
}

/// How long a stopping server waits for the first request of connections it accepted
/// last: a request already on its way arrives in far less; a client that connected and
/// says nothing (a browser's preconnection) must not hold the stop up.
const FIRST_REQUEST_WAIT: Duration = Duration::from_secs(1);

/// Connections whose first request has not arrived yet.
#[derive(Default)]
struct Unheard {
    count: AtomicUsize,
    none_left: Notify,
}

impl Unheard {
    async fn all_heard(&self) {
        loop {
            let notified = self.none_left.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One connection's place in [`Unheard`], given up once: at its first request, or its end.
#[derive(Clone)]
struct FirstRequest(Arc<(Arc<Unheard>, AtomicBool)>);

impl FirstRequest {
    fn new(unheard: &Arc<Unheard>) -> Self {
        unheard.count.fetch_add(1, Ordering::SeqCst);
        FirstRequest(Arc::new((unheard.clone(), AtomicBool::new(false))))
    }

    fn arrived(&self) {
        let (unheard, done) = &*self.0;
        if !done.swap(true, Ordering::SeqCst) && unheard.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            unheard.none_left.notify_waiters();
        }
    }
}

/// Errors of one connection (it was reset before we took it) are skipped; others (out of
/// file descriptors) would repeat at once, so wait a moment before accepting again.
async fn wait_after_accept_error(error: &io::Error) {
    use io::ErrorKind as K;
    if matches!(
        error.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::ConnectionRefused | K::Interrupted
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A connection that gives hyper's own error answers a problem+json body.
///
/// hyper answers a request head it cannot parse (malformed, a URI over 64 KiB, headers
/// over its limits) itself, before any of our code runs, with an empty 400, 414 or 431,
/// and closes the connection; it has no hook to change that answer. Our own answers with
/// those statuses always carry a problem+json body, so an empty one is hyper's, and this
/// writer sends our problem in its place.
struct ProblemAnswers<T> {
    inner: T,
    replacement: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
}

impl<T: AsyncWrite + Unpin> ProblemAnswers<T> {
    fn new(inner: T) -> Self {
        ProblemAnswers {
            inner,
            replacement: None,
        }
    }

    /// Writes what is left of the replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(replacement) = &mut self.replacement else {
            return Poll::Ready(Ok(()));
        };
        while replacement.written < replacement.bytes.len() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &replacement.bytes[replacement.written..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            replacement.written += written;
        }
        Poll::Ready(Ok(()))
    }

    /// Once hyper's answer is recognised, everything it writes is taken as written and our
    /// answer goes out instead.
    fn poll_write_answer(
        &mut self,
        cx: &mut Context<'_>,
        first: &[u8],
        total: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        if self.replacement.is_none() {
            let problem = hyper_error_answer(first)?;
            self.replacement = Some(Replacement {
                bytes: problem,
                written: 0,
            });
        }
        Some(self.poll_replacement(cx).map_ok(|()| total))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemAnswers<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemAnswers<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(answered) = self.poll_write_answer(cx, buf, buf.len()) {
            return answered;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|buf| !buf.is_empty()).map_or(&[][..], |buf| &buf[..]);
        let total = bufs.iter().map(|buf| buf.len()).sum();
        if let Some(answered) = self.poll_write_answer(cx, first, total) {
            return answered;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Our whole answer in place of hyper's, when `head` is one of hyper's bodiless error
/// answers: a 400, 414 or 431 head with `content-length: 0` and no content type.
fn hyper_error_answer(head: &[u8]) -> Option<Vec<u8>> {
    let status_line = head.strip_prefix(b"HTTP/1.1 ")?;
    let (status, error) = match status_line.get(..4)? {
        b"400 " => (
            "400 Bad Request",
            ApiError::BadRequest("the request line or a header could not be parsed".to_owned()),
        ),
        b"414 " => ("414 URI Too Long", ApiError::UriTooLong),
        b"431 " => ("431 Request Header Fields Too Large", ApiError::HeadersTooLarge),
        _ => return None,
    };
    // hyper writes such an answer whole, in one buffer that ends with its head.
    let end = head.windows(4).position(|window| window == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let fields = head[..end].to_ascii_lowercase();
    let has = |field: &[u8]| fields.windows(field.len()).any(|window| window == field);
    if !has(b"\r\ncontent-length: 0") || has(b"\r\ncontent-type:") {
        return None;
    }
    let body = serde_json::to_vec(&error.to_problem()).unwrap_or_default();
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bodiless_error_answers_are_replaced_and_ours_are_not() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 10:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(hyper_error_answer(hyper_431).expect("replaced")).expect("utf-8");
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("\"code\":\"headers_too_large\""), "{answer}");

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n";
        assert!(hyper_error_answer(ours).is_none(), "our answers pass through");
        let success = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(hyper_error_answer(success).is_none());
        let body_chunk = b"{\"items\":[]}";
        assert!(hyper_error_answer(body_chunk).is_none());
    }
}
