//! Clients that are slow, idle or malformed on purpose, over raw TCP: each is bounded in
//! time and in connections, and every answer it gets is problem+json.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// Far longer than any limit below: a test that reaches it has found a connection the
/// server never closed.
const PATIENCE: Duration = Duration::from_secs(15);

fn address(app: &TestApp) -> String {
    app.base_url.trim_start_matches("http://").to_owned()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(address(app)).await.expect("connect")
}

/// Everything the server sends until it closes the connection; fails the test if it
/// keeps the connection open past `PATIENCE`.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&received).into_owned()
}

/// The status and problem body of a raw answer.
fn problem_of(answer: &str) -> (u16, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "errors are problem+json: {head}"
    );
    (status, serde_json::from_str(body).expect("a JSON problem"))
}

async fn a_client_that_never_finishes_its_head_is_disconnected(app: TestApp) {
    let mut silent = connect(&app).await;
    let mut unfinished = connect(&app).await;
    unfinished
        .write_all(b"GET /v1/products HTTP/1.1\r\nHost: shop\r\n")
        .await
        .expect("write");
    assert_eq!(
        read_until_closed(&mut silent).await,
        "",
        "a silent connection is closed"
    );
    assert_eq!(
        read_until_closed(&mut unfinished).await,
        "",
        "an unfinished head is closed"
    );
}

async fn an_idle_kept_alive_connection_is_closed(app: TestApp) {
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn a_body_that_never_arrives_is_a_408_problem(app: TestApp) {
    let cart = app.post("/v1/carts", None, serde_json::json!({})).await;
    assert_eq!(cart.status, 201, "{}", cart.text);
    let cart_id = cart.body["id"].as_str().expect("cart id").to_owned();
    let path = format!("/v1/carts/{cart_id}/items");
    for idempotency_key in [None, Some("slow-body-1")] {
        let mut stream = connect(&app).await;
        let key_header = idempotency_key.map_or_else(String::new, |key| format!("Idempotency-Key: {key}\r\n"));
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n{key_header}Content-Length: 10000000\r\n\r\n{{\"variant\""
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let (status, problem) = problem_of(&read_until_closed(&mut stream).await);
        assert_eq!((status, problem["code"].as_str()), (408, Some("request_timeout")));
    }
    let cart_now = app.get(&format!("/v1/carts/{cart_id}"), None).await;
    assert_eq!(cart_now.body["items"], serde_json::json!([]), "nothing was written");
}

async fn each_client_holds_a_bounded_number_of_connections(app: TestApp) {
    let cap = app.options.connections.per_client.expect("a cap");
    let mut held = Vec::new();
    for _ in 0..cap {
        held.push(connect(&app).await);
    }
    let mut refused = connect(&app).await;
    assert_eq!(
        read_until_closed(&mut refused).await,
        "",
        "one connection over the cap is closed at once"
    );
    // A connection that ends gives its slot back. The server frees it when its side of the
    // connection ends, just after the client sees the close, so a few tries may be refused.
    let mut leaving = held.pop().expect("held");
    leaving
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    assert!(read_until_closed(&mut leaving).await.starts_with("HTTP/1.1 200"));
    let mut served = false;
    for _ in 0..1000 {
        let mut again = connect(&app).await;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        if read_until_closed(&mut again).await.starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
    }
    assert!(served, "the freed slot is taken by a new connection");
}

async fn answers_hyper_gives_before_our_code_are_problems_too(app: TestApp) {
    let long_uri = format!(
        "GET /v1/products?q={} HTTP/1.1\r\nHost: shop\r\n\r\n",
        "a".repeat(70_000)
    );
    let many_headers = format!(
        "GET /v1/products HTTP/1.1\r\nHost: shop\r\n{}\r\n",
        (0..150).map(|n| format!("X-Filler-{n}: {n}\r\n")).collect::<String>()
    );
    let cases = [
        (long_uri, 414, "uri_too_long"),
        (many_headers, 431, "headers_too_large"),
        ("NOT A REQUEST\r\n\r\n".to_owned(), 400, "bad_request"),
    ];
    for (request, expected_status, expected_code) in cases {
        let mut stream = connect(&app).await;
        // The server may answer and close before the whole request is written.
        let _ = stream.write_all(request.as_bytes()).await;
        let (status, problem) = problem_of(&read_until_closed(&mut stream).await);
        assert_eq!(
            (status, problem["code"].as_str()),
            (expected_status, Some(expected_code)),
            "{problem}"
        );
        assert_eq!(problem["status"], expected_status);
    }
}

async fn a_query_that_is_not_utf8_is_refused_like_a_path(app: TestApp) {
    for path in ["/v1/products?q=%FF%FE", "/v1/products?q=ok&cursor=%C3", "/search?q=%FF"] {
        let response = app.get(path, None).await;
        response.assert_problem(400, "bad_request");
    }
    let fine = app.get("/v1/products?q=%C3%A9t%C3%A9+sale", None).await;
    assert_eq!(fine.status, 200, "{}", fine.text);
}

fn strict_connections() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.connections.header_timeout = Duration::from_secs(1);
    options.connections.per_client = Some(8);
    options.http.body_timeout = Duration::from_secs(1);
    options
}

crate::backend_tests!(
    options = crate::slow_clients::strict_connections();
    a_client_that_never_finishes_its_head_is_disconnected,
    an_idle_kept_alive_connection_is_closed,
    a_body_that_never_arrives_is_a_408_problem,
    each_client_holds_a_bounded_number_of_connections,
    answers_hyper_gives_before_our_code_are_problems_too,
    a_query_that_is_not_utf8_is_refused_like_a_path,
);
