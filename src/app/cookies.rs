//! Browser sessions: the session token in an HttpOnly cookie, and the CSRF check that every
//! unsafe request authenticated by that cookie must pass. Bearer-token requests need none:
//! a browser never attaches a bearer token by itself.
//!
//! The CSRF token is derived from the session token (SHA-256 of a label and the token),
//! so it needs no storage, changes with every session, and cannot be computed by a page
//! that cannot read the HttpOnly session cookie. It is handed out in the login response
//! and in a readable `backroom_csrf` cookie; clients send it back as `X-CSRF-Token`.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "backroom_session";
pub const CSRF_COOKIE: &str = "backroom_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token that goes with a session token.
pub fn csrf_token(session_token: &str) -> String {
    let digest = Sha256::digest(format!("backroom csrf v1\n{session_token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// True when `method` can change something, so that a cookie alone must not authorize it.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True when the request carries the CSRF token of `session_token`.
pub fn carries_csrf_token(headers: &HeaderMap, session_token: &str) -> bool {
    let expected = csrf_token(session_token);
    headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|sent| {
            sent.len() == expected.len() && sent.bytes().zip(expected.bytes()).fold(0, |a, (x, y)| a | (x ^ y)) == 0
        })
}

/// `Set-Cookie` values that open a browser session lasting `max_age_seconds`.
pub fn session_cookies(session_token: &str, max_age_seconds: i64, secure: bool) -> [HeaderValue; 2] {
    let secure = if secure { "; Secure" } else { "" };
    let session =
        format!("{SESSION_COOKIE}={session_token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}");
    let csrf = format!(
        "{CSRF_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={max_age_seconds}{secure}",
        csrf_token(session_token)
    );
    [session, csrf].map(|value| HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")))
}

/// `Set-Cookie` values that end the browser session.
pub fn cleared_cookies(secure: bool) -> [HeaderValue; 2] {
    let secure = if secure { "; Secure" } else { "" };
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax{secure}"))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; backroom_session=brs_x; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("brs_x"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CSRF_HEADER,
            HeaderValue::from_str(&csrf_token("brs_one")).expect("header"),
        );
        assert!(carries_csrf_token(&headers, "brs_one"));
        assert!(!carries_csrf_token(&headers, "brs_two"));
        assert!(!carries_csrf_token(&HeaderMap::new(), "brs_one"));
    }
}
