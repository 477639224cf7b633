//! JSON values tests send and check: money, ids, timestamps, addresses.

use serde_json::{Value, json};

use super::database::unique_suffix;

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", unique_suffix())
}

pub fn unique_sku() -> String {
    format!("SKU-{}", unique_suffix())
}

pub fn checkout_body(payment_token: &str) -> Value {
    json!({
        "email": "buyer@example.com",
        "shipping_address": address(),
        "payment": {"token": payment_token}
    })
}

pub fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"})
}

/// A EUR money object.
pub fn eur(amount: i64) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// The `id` of a JSON object, panicking with the object when it has none.
#[track_caller]
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no `id` in {value}"))
        .to_owned()
}

/// The `id`s of a list response's `data`, in order.
#[track_caller]
pub fn ids_in(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no `data` array in {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Asserts a string is an RFC 3339 timestamp in UTC (ending in `Z`).
#[track_caller]
pub fn assert_utc_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is a string, got {value}"));
    assert!(text.ends_with('Z'), "timestamp {text} is in UTC with a `Z`");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|error| panic!("timestamp {text} is RFC 3339: {error}"));
}

/// Asserts a money object: exactly `{amount: <integer>, currency: "EUR"}`.
#[track_caller]
pub fn assert_money(value: &Value, amount: i64) {
    assert!(value["amount"].is_i64(), "money amount is an integer, got {value}");
    assert_eq!(value, &eur(amount), "money object");
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
