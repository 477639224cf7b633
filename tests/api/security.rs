//! Accounts and sessions against attackers: the login throttle (shared by every process on
//! the database), the general rate limit, session expiry and revocation, password changes,
//! security headers, CORS, and secrets kept out of the logs.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::support::*;

async fn fail_login(app: &TestApp, email: &str) -> Response {
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": "not the password"}),
    )
    .await
}

fn assert_retry_after(response: &Response) {
    response.assert_problem(429, "rate_limited");
    let seconds: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&seconds), "Retry-After {seconds}");
}

async fn ten_failures_lock_the_account_for_every_process(app: TestApp) {
    let email = unique_email("locked");
    app.register(&email).await;
    for _ in 0..10 {
        fail_login(&app, &email).await.assert_problem(401, "unauthorized");
    }
    // Even the right password is refused now, on this server and on another one.
    let right = json!({"email": email, "password": PASSWORD});
    assert_retry_after(&app.post("/v1/auth/login", None, right.clone()).await);
    let peer = app.start_peer().await;
    assert_retry_after(&peer.post("/v1/auth/login", None, right).await);
}

/// Guesses sent all at once cannot slip under the limit: the attempt counts before the
/// password is checked.
async fn concurrent_guesses_cannot_outrun_the_throttle(app: TestApp) {
    let email = unique_email("stuffed");
    app.register(&email).await;
    let responses = join_all((0..20).map(|_| fail_login(&app, &email))).await;
    let refused = responses.iter().filter(|r| r.status == 401).count();
    let limited = responses.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        (refused, limited),
        (10, 10),
        "ten guesses are checked, the rest are throttled"
    );
}

/// A staff event stream ends once its session does.
async fn a_staff_stream_ends_when_its_session_does(app: TestApp) {
    let admin = app.staff_token().await;
    let other = app.staff_token().await;
    let (customer, _) = app.customer().await;
    let (order, _) = app.paid_order(&admin, Some(&customer), 900, 1, 3).await;
    let response = app
        .client
        .get(app.url("/v1/admin/events"))
        .bearer_auth(&other)
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let logout = app
        .send(reqwest::Method::POST, "/v1/auth/logout", Some(&other), None)
        .await;
    assert_eq!(logout.status, 204);
    let path = format!("/v1/admin/orders/{}/fulfill", order["id"].as_str().expect("id"));
    app.post(&path, Some(&admin), json!({})).await.assert_status(200);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        use futures_util::StreamExt;
        let mut received = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
        received
    })
    .await
    .expect("the stream ends within 10 s");
    assert!(
        !ended.contains("order.fulfilled"),
        "no event reaches a logged-out session: {ended}"
    );
}

async fn ten_failures_from_one_address_lock_that_address(app: TestApp) {
    for attempt in 0..10 {
        fail_login(&app, &unique_email(&format!("spray{attempt}")))
            .await
            .assert_problem(401, "unauthorized");
    }
    let victim = unique_email("victim");
    app.register(&victim).await;
    assert_retry_after(&fail_login(&app, &unique_email("another")).await);
    // Another address is not locked out.
    let elsewhere = client_from_another_address();
    let login = json!({"email": victim, "password": PASSWORD});
    let response = read(
        elsewhere
            .post(app.url("/v1/auth/login"))
            .json(&login)
            .send()
            .await
            .expect("login"),
    )
    .await;
    response.assert_status(200);
}

/// A client whose requests come from another loopback address (127.0.0.2).
fn client_from_another_address() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client")
}

async fn fail_login_from(client: &reqwest::Client, app: &TestApp, email: &str) -> Response {
    let body = json!({"email": email, "password": "not the password"});
    read(
        client
            .post(app.url("/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .expect("login"),
    )
    .await
}

async fn a_successful_login_clears_the_account_failures(app: TestApp) {
    let email = unique_email("forgetful");
    app.register(&email).await;
    for _ in 0..9 {
        fail_login(&app, &email).await.assert_problem(401, "unauthorized");
    }
    app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await
        .assert_status(200);
    // From another address (so that only the account's count matters), nine more
    // failures are still under the limit: the success cleared the first nine.
    let elsewhere = client_from_another_address();
    for _ in 0..9 {
        fail_login_from(&elsewhere, &app, &email)
            .await
            .assert_problem(401, "unauthorized");
    }
    fail_login_from(&elsewhere, &app, &email)
        .await
        .assert_problem(401, "unauthorized");
    assert_retry_after(&fail_login_from(&elsewhere, &app, &email).await);
}

async fn logout_everywhere_revokes_every_session(app: TestApp) {
    let email = unique_email("everywhere");
    let (first, _) = app.register(&email).await;
    let second = app
        .post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await;
    let second = second.assert_status(200)["token"].as_str().expect("token").to_owned();
    let response = app
        .send(reqwest::Method::POST, "/v1/auth/logout-all", Some(&first), None)
        .await;
    assert_eq!(response.status, 204, "{}", response.text);
    app.get("/v1/me", Some(&first))
        .await
        .assert_problem(401, "unauthorized");
    app.get("/v1/me", Some(&second))
        .await
        .assert_problem(401, "unauthorized");
}

async fn changing_the_password_revokes_the_other_sessions(app: TestApp) {
    let email = unique_email("rotate");
    let (current, _) = app.register(&email).await;
    let other = app
        .post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await;
    let other = other.assert_status(200)["token"].as_str().expect("token").to_owned();

    let wrong = json!({"current_password": "not it at all", "new_password": "a brand new secret"});
    app.post("/v1/me/password", Some(&current), wrong)
        .await
        .assert_field_error("current_password");
    let weak = json!({"current_password": PASSWORD, "new_password": "short"});
    app.post("/v1/me/password", Some(&current), weak)
        .await
        .assert_field_error("new_password");
    app.get("/v1/me", Some(&other)).await.assert_status(200);

    let change = json!({"current_password": PASSWORD, "new_password": "a brand new secret"});
    let response = app.post("/v1/me/password", Some(&current), change).await;
    assert_eq!(response.status, 204, "{}", response.text);
    app.get("/v1/me", Some(&current)).await.assert_status(200);
    app.get("/v1/me", Some(&other))
        .await
        .assert_problem(401, "unauthorized");
    fail_login(&app, &email).await.assert_problem(401, "unauthorized");
    app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD}))
        .await
        .assert_problem(401, "unauthorized");
    app.post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": "a brand new secret"}),
    )
    .await
    .assert_status(200);
}

async fn idle_and_expired_sessions_stop_working(app: TestApp) {
    let (idle, _) = app.register(&unique_email("idle")).await;
    app.age("sessions", "last_seen_at", 8 * 24 * 3600).await;
    app.get("/v1/me", Some(&idle)).await.assert_problem(401, "unauthorized");

    let (old, _) = app.register(&unique_email("old")).await;
    app.age("sessions", "expires_at", 31 * 24 * 3600).await;
    app.get("/v1/me", Some(&old)).await.assert_problem(401, "unauthorized");
}

async fn every_response_carries_the_security_headers(app: TestApp) {
    for path in ["/healthz", "/v1/products", "/v1/nowhere"] {
        let response = app.get(path, None).await;
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(
            response.header("strict-transport-security"),
            None,
            "no HSTS unless configured"
        );
    }
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    let policy = docs.header("content-security-policy").expect("CSP on HTML");
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"),
        "{policy}"
    );
}

async fn the_general_rate_limit_answers_429_with_retry_after(app: TestApp) {
    let responses = join_all((0..12).map(|_| app.get("/v1/products", None))).await;
    let limited: Vec<&Response> = responses.iter().filter(|response| response.status == 429).collect();
    assert!(!limited.is_empty(), "a burst over the limit is refused");
    assert!(
        responses.iter().filter(|response| response.status == 200).count() >= 5,
        "the burst itself is served"
    );
    assert_retry_after(limited[0]);
}

async fn each_client_holds_a_bounded_number_of_live_streams(app: TestApp) {
    let staff = app.staff_token().await;
    let open = || app.client.get(app.url("/v1/admin/events")).bearer_auth(&staff).send();
    let first = open().await.expect("first stream");
    let second = open().await.expect("second stream");
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = read(open().await.expect("third stream")).await;
    assert_retry_after(&third);
    drop(first);
    // The slot frees when the server notices the client left.
    let mut reopened = None;
    for _ in 0..50 {
        let response = open().await.expect("stream");
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream gives its slot back");
    drop(second);
}

fn two_streams_per_client() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.http.max_streams_per_client = 2;
    options
}

fn strict_limits() -> backroom::server::ServerOptions {
    let mut options = backroom::server::ServerOptions::for_tests();
    options.http.rate_limit = Some(backroom::http::RateLimit {
        per_second: 1,
        burst: 5,
    });
    options.http.hsts = true;
    options.http.cors_origins = vec!["https://shop.example.com".to_owned()];
    options
}

async fn hsts_and_cors_follow_the_configuration(app: TestApp) {
    let response = app.get("/healthz", None).await;
    assert!(
        response
            .header("strict-transport-security")
            .is_some_and(|value| value.contains("max-age="))
    );
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/carts"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,idempotency-key")
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.expect("preflight");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://shop.example.com")
    );
    let refused = preflight("https://evil.example.net").await.expect("preflight");
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

/// A browser session: the token rides in an HttpOnly cookie, and every unsafe request it
/// authenticates must carry the session's CSRF token; a bearer token needs none.
async fn cookie_sessions_need_the_csrf_token_for_changes(app: TestApp) {
    let email = unique_email("browser");
    app.register(&email).await;
    let login = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}));
    let login = login.send().await.expect("login");
    let set_cookies: Vec<String> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let login = read(login).await;
    let csrf = login.assert_status(200)["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    let session = set_cookies
        .iter()
        .find(|c| c.starts_with("backroom_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP on loopback: not Secure");
    let csrf_cookie = set_cookies
        .iter()
        .find(|c| c.starts_with("backroom_csrf="))
        .expect("csrf cookie");
    assert!(csrf_cookie.starts_with(&format!("backroom_csrf={csrf};")) && !csrf_cookie.contains("HttpOnly"));
    let cookie = session.split(';').next().expect("name=value").to_owned();

    let with_cookie =
        |method: reqwest::Method, path: &str| app.client.request(method, app.url(path)).header("cookie", &cookie);
    let me = read(with_cookie(reqwest::Method::GET, "/v1/me").send().await.expect("me")).await;
    assert_eq!(me.assert_status(200)["email"], email.to_lowercase());

    let no_token = with_cookie(reqwest::Method::POST, "/v1/carts")
        .json(&json!({}))
        .send()
        .await
        .expect("cart");
    read(no_token).await.assert_problem(403, "forbidden");
    let wrong = with_cookie(reqwest::Method::POST, "/v1/carts")
        .header("x-csrf-token", "0".repeat(64))
        .json(&json!({}));
    read(wrong.send().await.expect("cart"))
        .await
        .assert_problem(403, "forbidden");
    let cart = with_cookie(reqwest::Method::POST, "/v1/carts")
        .header("x-csrf-token", &csrf)
        .json(&json!({}));
    let cart = read(cart.send().await.expect("cart")).await;
    assert!(
        cart.assert_status(201)["customer_id"].is_string(),
        "the cart belongs to the cookie's customer"
    );

    let logout = with_cookie(reqwest::Method::POST, "/v1/auth/logout")
        .header("x-csrf-token", &csrf)
        .send()
        .await;
    let logout = logout.expect("logout");
    let cleared: Vec<String> = logout
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    assert_eq!(logout.status(), 204);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("backroom_session=;") && c.contains("Max-Age=0"))
    );
    let after = read(with_cookie(reqwest::Method::GET, "/v1/me").send().await.expect("me")).await;
    after.assert_problem(401, "unauthorized");
}

crate::backend_tests!(
    concurrent_guesses_cannot_outrun_the_throttle,
    a_staff_stream_ends_when_its_session_does,
    cookie_sessions_need_the_csrf_token_for_changes,
    ten_failures_lock_the_account_for_every_process,
    ten_failures_from_one_address_lock_that_address,
    a_successful_login_clears_the_account_failures,
    logout_everywhere_revokes_every_session,
    changing_the_password_revokes_the_other_sessions,
    idle_and_expired_sessions_stop_working,
    every_response_carries_the_security_headers,
);

mod streams {
    use super::*;
    crate::backend_tests!(
        options = crate::security::two_streams_per_client();
        each_client_holds_a_bounded_number_of_live_streams,
    );
}

mod strict {
    use super::*;
    crate::backend_tests!(
        options = crate::security::strict_limits();
        the_general_rate_limit_answers_429_with_retry_after,
        hsts_and_cors_follow_the_configuration,
    );
}

/// The whole flow with debug logging: no password, session token, guest token or card
/// token reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
    use tokio::io::AsyncReadExt;
    let database = TestDatabase::sqlite();
    let log_path = std::path::PathBuf::from(database.url.trim_start_matches("sqlite://")).with_file_name("server.log");
    let staff_password = "staff password that must stay secret";
    assert!(
        crate::support::process::admin_create(&database.url, "boss@example.com", staff_password)
            .await
            .status
            .success()
    );
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = crate::support::process::backroom(&database.url);
    command
        .args(crate::support::process::ANY_PORT)
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::from(log));
    let (mut server, shop) = crate::support::process::spawn_serving(command).await;
    let customer_password = "customer password that must stay secret";
    let registered = shop
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "ada@example.com", "password": customer_password}),
        )
        .await;
    let token = registered.assert_status(201)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let staff = shop
        .post(
            "/v1/auth/login",
            None,
            json!({"email": "boss@example.com", "password": staff_password}),
        )
        .await;
    let staff = staff.assert_status(200)["token"].as_str().expect("token").to_owned();
    let product = json!({"title": "Quiet Lamp", "status": "published",
        "variants": [{"sku": "LAMP-Q", "price": {"amount": 2000, "currency": "EUR"}, "inventory": 5}]});
    let product = shop.post("/v1/admin/products", Some(&staff), product).await;
    let variant = product.assert_status(201)["variants"][0]["id"]
        .as_str()
        .expect("variant")
        .to_owned();
    let cart = shop.post("/v1/carts", None, json!({})).await.assert_status(201)["id"]
        .as_str()
        .expect("cart")
        .to_owned();
    shop.post(
        &format!("/v1/carts/{cart}/items"),
        None,
        json!({"variant_id": variant, "quantity": 1}),
    )
    .await;
    let order = shop
        .post(&format!("/v1/carts/{cart}/checkout"), None, checkout_body("tok_visa"))
        .await;
    let guest_token = order.assert_status(201)["token"]
        .as_str()
        .expect("guest token")
        .to_owned();
    let order_id = order.body["id"].as_str().expect("order").to_owned();
    let guest_view = shop
        .get(&format!("/v1/orders/{order_id}?token={guest_token}"), None)
        .await;
    guest_view.assert_status(200);
    shop.post(
        "/v1/auth/login",
        None,
        json!({"email": "ada@example.com", "password": "wrong password here"}),
    )
    .await;
    shop.post("/v1/auth/logout", Some(&token), json!({})).await;

    let _ = server.start_kill();
    let _ = server.wait().await;
    let mut text = String::new();
    tokio::fs::File::open(&log_path)
        .await
        .expect("open log")
        .read_to_string(&mut text)
        .await
        .expect("read log");
    assert!(text.contains("DEBUG"), "the log ran at debug level");
    for secret in [
        customer_password,
        staff_password,
        "wrong password here",
        &token,
        &staff,
        &guest_token,
    ] {
        assert!(!text.contains(secret), "the log holds a secret: {secret}");
    }
}
