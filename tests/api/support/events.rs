//! Reading Server-Sent Events: how tests await what the server announces instead of
//! polling for it.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};

use super::Shop;

/// Generous: the whole suite runs beside each test on two cores, and on PostgreSQL a
/// stream reads an event only once every older transaction on the server has ended, the
/// other tests' databases' included (store::events). A bound against a stream that never
/// delivers, not a latency target: 20 s was once too short in CI (2026-12-07, 564 tests).
const STREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// One Server-Sent Event.
#[derive(Debug)]
pub struct SseEvent {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// Reads SSE frames off a streaming response body.
pub struct EventStream {
    chunks: Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: Vec<u8>,
}

impl EventStream {
    fn new(response: reqwest::Response) -> Self {
        let chunks = response.bytes_stream().map(|chunk| chunk.map(|bytes| bytes.to_vec()));
        EventStream {
            chunks: Box::pin(chunks),
            buffer: Vec::new(),
        }
    }

    /// The next event (comment-only frames skipped), waiting at most `STREAM_TIMEOUT`.
    pub async fn next_event(&mut self) -> SseEvent {
        tokio::time::timeout(STREAM_TIMEOUT, self.read_event())
            .await
            .expect("an SSE event arrives within 20 s")
    }

    async fn read_event(&mut self) -> SseEvent {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|pair| pair == b"\n\n") {
                let frame: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let frame = String::from_utf8(frame).expect("SSE frames are UTF-8");
                if let Some(event) = parse_frame(&frame) {
                    return event;
                }
            }
            let chunk = self
                .chunks
                .next()
                .await
                .expect("the event stream stays open")
                .expect("read the event stream");
            // CRLF and LF line endings are both legal SSE; keep only LF.
            self.buffer.extend(chunk.into_iter().filter(|byte| *byte != b'\r'));
        }
    }
}

fn parse_frame(frame: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut id = None;
    let mut data = Vec::new();
    for line in frame.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if event.is_none() && id.is_none() && data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event,
        id,
        data: data.join("\n"),
    })
}

impl Shop {
    /// Opens `path` as a stream (headers within the timeout) and returns the response unread.
    pub async fn open_stream(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.open_stream_after(path, token, None).await
    }

    /// [`Shop::open_stream`], resuming after the event `last_event_id` when given.
    pub async fn open_stream_after(
        &self,
        path: &str,
        token: Option<&str>,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.get(self.url(path)).header("accept", "text/event-stream");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(last_event_id) = last_event_id {
            request = request.header("last-event-id", last_event_id);
        }
        tokio::time::timeout(STREAM_TIMEOUT, request.send())
            .await
            .expect("the event stream answers within 20 s")
            .expect("request reaches the server")
    }

    /// Opens the event stream at `path`, asserting it is SSE.
    pub async fn events(&self, path: &str, token: Option<&str>) -> EventStream {
        self.events_after(path, token, None).await
    }

    /// [`Shop::events`], resuming after the event `last_event_id` when given.
    pub async fn events_after(&self, path: &str, token: Option<&str>, last_event_id: Option<&str>) -> EventStream {
        let response = self.open_stream_after(path, token, last_event_id).await;
        assert_eq!(response.status().as_u16(), 200, "the event stream opens");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content-type is {content_type}"
        );
        EventStream::new(response)
    }
}
