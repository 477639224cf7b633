//! An answer read whole, and the assertions tests make on it.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response read whole: status, headers, and the body as text and (when it is JSON) as a value.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

pub async fn read(response: reqwest::Response) -> Response {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("read body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        text,
        body,
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json error with this status and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status, body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "errors are problem+json"
        );
        assert_eq!(self.body["code"], code, "unexpected code, body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status, body: {}", self.text);
        &self.body
    }

    /// The `field`s of a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|error| error["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a 422 `validation_failed` problem naming `field` in its `errors`.
    #[track_caller]
    pub fn assert_field_error(&self, field: &str) {
        self.assert_error_on("validation_failed", field);
    }

    /// Asserts a 422 problem with `code` whose `errors` name `field`.
    #[track_caller]
    pub fn assert_error_on(&self, code: &str, field: &str) {
        self.assert_problem(422, code);
        let errors = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("`errors` array in {}", self.text));
        let error = errors
            .iter()
            .find(|error| error["field"] == field)
            .unwrap_or_else(|| panic!("an error for field `{field}` in {}", self.text));
        assert!(error["message"].is_string(), "each error has a message: {}", self.text);
    }

    /// Asserts a 422 `validation_failed` problem with a field error starting with `prefix`.
    #[track_caller]
    pub fn assert_field_error_starting(&self, prefix: &str) {
        self.assert_problem(422, "validation_failed");
        assert!(
            self.error_fields().iter().any(|field| field.starts_with(prefix)),
            "an error for a field starting with `{prefix}` in {}",
            self.text
        );
    }
}
