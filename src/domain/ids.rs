//! Identifiers: a type prefix and a UUIDv7 (time-ordered, 74 random bits), so that lists
//! sort by creation and ids cannot be guessed; and the opaque list cursors built on them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A new id such as `prod_019a...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// 32 hex characters of fresh randomness (test database names, temporary files).
pub fn random_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

const CURSOR_TAG: &str = "c1:";

pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{last_id}"))
}

/// The id inside a cursor, or `None` when it is not one this API made.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let id = text.strip_prefix(CURSOR_TAG)?;
    let valid = id.split_once('_').is_some_and(|(prefix, rest)| {
        !prefix.is_empty() && rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    });
    valid.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation() {
        let first = new_id("ord");
        let second = new_id("ord");
        assert!(first < second);
        assert!(first.starts_with("ord_"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = new_id("prod");
        assert_eq!(decode_cursor(&encode_cursor(&id)), Some(id));
        assert_eq!(decode_cursor("garbage!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("c1:prod_short")), None);
    }
}
