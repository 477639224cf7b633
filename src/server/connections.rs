//! Accepting connections and serving each with hyper, under the limits that keep a slow or
//! hostile client from holding the server's file descriptors.
//!
//! This is our own loop rather than `axum::serve` because that runs hyper without a timer,
//! so no header-read timeout applies: a client that never finished its request head, or
//! left a kept-alive connection idle, held it forever.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
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
use tokio::net::{TcpListener, TcpStream};
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
/// request elsewhere, as it was sent.) For the same reason the connections still waiting
/// in the listen backlog at the stop are taken and served before the socket closes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let connections = Connections {
        router,
        builder,
        slots: limits.per_client.map(|per_client| ClientSlots::new(per_client.max(1))),
        graceful: GracefulShutdown::new(),
        unheard: Arc::new(Unheard::default()),
    };
    let mut stop = pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => connections.serve(stream, peer),
                Err(error) => wait_after_accept_error(&error).await,
            },
            () = &mut stop => break,
        }
    }
    connections.serve_backlog(listener);
    let _ = tokio::time::timeout(
        FIRST_REQUEST_WAIT.min(limits.header_timeout),
        connections.unheard.all_heard(),
    )
    .await;
    connections.graceful.shutdown().await;
    Ok(())
}

/// What every accepted connection is served with.
struct Connections {
    router: Router,
    builder: http1::Builder,
    slots: Option<ClientSlots>,
    graceful: GracefulShutdown,
    unheard: Arc<Unheard>,
}

impl Connections {
    /// Serves one connection on its own task, if its client has a slot left.
    fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let slot = match &self.slots {
            Some(slots) => match slots.take(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    // Closing at once frees the descriptor; answering would hold it longer.
                    tracing::warn!(client = %peer.ip(), "connection refused: the client holds its share of connections");
                    return;
                }
            },
            None => None,
        };
        let first_request = FirstRequest::new(&self.unheard);
        let heard = first_request.clone();
        let service = tower::ServiceBuilder::new()
            .map_request(move |request| {
                heard.arrived();
                request
            })
            .layer(axum::Extension(ConnectInfo(peer)))
            .service(self.router.clone());
        let connection = self.graceful.watch(self.builder.serve_connection(
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

    /// Takes every connection the kernel has completed but we have not accepted yet, then
    /// closes the listening socket. Closing it with such connections queued would reset
    /// them, requests and all (a POST a load balancer sent there would be lost, not
    /// retried). The accepts are direct calls until the queue is empty: tokio's
    /// readiness may not have seen the newest ones yet.
    fn serve_backlog(&self, listener: TcpListener) {
        let listener = match listener.into_std() {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot take the connections waiting to be accepted");
                return;
            }
        };
        loop {
            let accepted = listener.accept().and_then(|(stream, peer)| {
                stream.set_nonblocking(true)?;
                Ok((TcpStream::from_std(stream)?, peer))
            });
            match accepted {
                Ok((stream, peer)) => self.serve(stream, peer),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if is_one_connections_error(&error) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot take the connections waiting to be accepted");
                    break;
                }
            }
        }
    }
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
    if is_one_connections_error(error) {
        return;
    }
    tracing::error!(%error, "cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn is_one_connections_error(error: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        error.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::ConnectionRefused | K::Interrupted
    )
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

    /// Connections the kernel completed before the stop, not yet accepted, are answered:
    /// the stop is ready before the loop ever runs, so without the backlog taken at the
    /// stop some or all of them would be reset with their request unread.
    #[tokio::test]
    async fn connections_waiting_in_the_backlog_at_the_stop_are_answered() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let mut clients = Vec::new();
        for _ in 0..8 {
            let mut client = TcpStream::connect(address)
                .await
                .expect("the kernel completes the connection");
            client
                .write_all(b"POST / HTTP/1.1\r\nhost: shop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .expect("request sent");
            clients.push(client);
        }
        let router = Router::new().route("/", axum::routing::post(|| async { "taken" }));
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(5),
            per_client: None,
        };
        serve(listener, router, limits, std::future::ready(()))
            .await
            .expect("served");
        for mut client in clients {
            let mut answer = String::new();
            client.read_to_string(&mut answer).await.expect("answered, not reset");
            assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
            assert!(answer.ends_with("taken"), "{answer}");
        }
    }

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
