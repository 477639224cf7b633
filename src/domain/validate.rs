//! Parsing of user input into values the rest of the domain can trust.
//! Each check reports a `FieldError` named by the field's path in the request.

use serde::{Deserialize, Serialize};

use super::FieldError;

pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 1024;
pub const MAX_TEXT_CHARS: usize = 200;

/// Collects field errors so a request learns about all of them at once.
#[derive(Debug, Default)]
pub struct Checks {
    pub errors: Vec<FieldError>,
}

impl Checks {
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Ok(())` when no check failed.
    pub fn finish(self) -> super::DomainResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(super::DomainError::Validation(self.errors))
        }
    }

    /// A non-empty, single-line text of at most `max` characters (counted as sent, as
    /// the OpenAPI document's `maxLength` counts them), trimmed.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.fail(field, "must not be empty");
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }

    /// An optional text: blank becomes `None`. The length counts what was sent, blank or
    /// not, as the document's `maxLength` does.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let sent = value?;
        if sent.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
            return None;
        }
        let value = Some(sent.trim()).filter(|v| !v.is_empty())?;
        if value.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        Some(value.to_owned())
    }
}

/// A lower-cased email address with one `@`, a dot in the domain and no spaces.
pub fn email(checks: &mut Checks, field: &str, value: &str) -> String {
    let email = value.trim().to_lowercase();
    let well_formed = value.chars().count() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !well_formed {
        checks.fail(field, "must be an email address such as name@example.com");
    }
    email
}

/// A password being set: 10 to 1024 characters.
pub fn new_password(checks: &mut Checks, field: &str, value: &str) {
    let chars = value.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        checks.fail(field, format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    } else if chars > MAX_PASSWORD_CHARS {
        checks.fail(field, format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
}

/// True for lower-case ASCII letters, digits and single inner hyphens, 1..=100 characters.
pub fn is_slug(value: &str) -> bool {
    (1..=100).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--")
}

/// A slug made from a title: "Blue Mug!" becomes "blue-mug"; a title with no usable
/// character becomes "item".
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(80).collect();
    slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() { "item".to_owned() } else { slug }
}

/// The slugs to try, in order, for something titled `base`: `base`, `base-2`, `base-3`...
/// Products, pages and posts take the first one free.
pub fn slug_candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(base.to_owned()).chain((2u64..).map(move |n| format!("{base}-{n}")))
}

/// The checks above as ECMAScript patterns, for the OpenAPI document, so that a client
/// (or a fuzzer) can tell what the server takes. The tests below hold each to its check.
pub mod patterns {
    /// What `str::trim` takes off: Unicode White_Space, as a class's contents.
    pub const WHITE_SPACE: &str = r"\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
    /// Neither white space nor a control character.
    const SOLID: &str = r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    /// Not a control character (`char::is_control`).
    const NOT_CONTROL: &str = r"[^\u0000-\u001F\u007F-\u009F]";
    /// Not a control character other than a tab or a line break (content bodies).
    const NOT_CONTROL_BUT_LINES: &str = r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]";

    /// [`super::Checks::text`]: something other than white space, on one line, with no
    /// control character once trimmed.
    pub fn text() -> String {
        format!("^[{WHITE_SPACE}]*{SOLID}(?:{NOT_CONTROL}*{SOLID})?[{WHITE_SPACE}]*$")
    }

    /// [`super::Checks::optional_text`]: blank, or as [`text`].
    pub fn optional_text() -> String {
        format!("^[{WHITE_SPACE}]*(?:{SOLID}(?:{NOT_CONTROL}*{SOLID})?[{WHITE_SPACE}]*)?$")
    }

    /// Blank, or text whose only control characters are tabs and line breaks (the
    /// content's excerpts and SEO fields, once trimmed).
    pub fn optional_lines() -> String {
        format!("^[{WHITE_SPACE}]*(?:{SOLID}(?:{NOT_CONTROL_BUT_LINES}*{SOLID})?[{WHITE_SPACE}]*)?$")
    }

    /// Any text whose only control characters are tabs and line breaks (Markdown bodies).
    pub fn lines() -> String {
        format!("^{NOT_CONTROL_BUT_LINES}*$")
    }

    /// [`super::is_slug`] (and its length, 1 to 100, as `maxLength`).
    pub const SLUG: &str = "^[a-z0-9]+(?:-[a-z0-9]+)*$";

    /// A currency code (`Currency::parse`).
    pub const CURRENCY: &str = "^[A-Z]{3}$";

    /// [`super::email`]: one `@`, a dot inside the domain, no white space or control
    /// character (and 254 characters at most, as `maxLength`).
    pub fn email() -> String {
        let part = format!(r"[^@{WHITE_SPACE}\u0000-\u001F\u007F-\u009F]");
        let edge = format!(r"[^@.{WHITE_SPACE}\u0000-\u001F\u007F-\u009F]");
        format!(r"^[{WHITE_SPACE}]*{part}+@{edge}{part}*\.{part}*{edge}[{WHITE_SPACE}]*$")
    }

    /// Something other than white space, anywhere (no control-character rule but NUL,
    /// which the HTTP layer refuses in any text).
    pub fn not_blank() -> String {
        format!(r"^[^\u0000]*[^{WHITE_SPACE}\u0000][^\u0000]*$")
    }

    /// `inner` (a pattern's body, without anchors) with white space around it, which the
    /// server trims off.
    pub fn trimmed(inner: &str) -> String {
        format!("^[{WHITE_SPACE}]*{inner}[{WHITE_SPACE}]*$")
    }
}

/// A shipping address (contract: Carts and checkout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub phone: Option<String>,
}

impl Address {
    /// Trims every field and checks the required ones; errors are named `{prefix}.{field}`,
    /// or `{field}` with no prefix.
    pub fn parse(checks: &mut Checks, prefix: &str, raw: &Address) -> Address {
        let field = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let country = raw.country.trim().to_owned();
        if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())) {
            checks.fail(field("country"), "must be an ISO 3166-1 alpha-2 code such as DE or GB");
        }
        Address {
            name: checks.text(&field("name"), &raw.name, MAX_TEXT_CHARS),
            line1: checks.text(&field("line1"), &raw.line1, MAX_TEXT_CHARS),
            line2: checks.optional_text(&field("line2"), raw.line2.as_deref(), MAX_TEXT_CHARS),
            city: checks.text(&field("city"), &raw.city, MAX_TEXT_CHARS),
            region: checks.optional_text(&field("region"), raw.region.as_deref(), MAX_TEXT_CHARS),
            postal_code: checks.text(&field("postal_code"), &raw.postal_code, 20),
            country,
            phone: checks.optional_text(&field("phone"), raw.phone.as_deref(), 40),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        let mut checks = Checks::default();
        assert_eq!(email(&mut checks, "email", " Ada@Example.COM "), "ada@example.com");
        assert!(checks.errors.is_empty());
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
        ] {
            let mut checks = Checks::default();
            email(&mut checks, "email", bad);
            assert_eq!(checks.errors.len(), 1, "{bad} should be refused");
        }
    }

    /// Strings made of the characters the patterns tell apart, and any others.
    fn tricky_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let tricky = prop_oneof![
            Just(' '),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            Just('\u{b}'),
            Just('\u{0}'),
            Just('\u{1}'),
            Just('\u{7f}'),
            Just('\u{85}'),
            Just('\u{9f}'),
            Just('\u{a0}'),
            Just('\u{2028}'),
            Just('\u{3000}'),
            Just('\u{feff}'),
            Just('a'),
            Just('é'),
            Just('-'),
            Just('0'),
            any::<char>(),
        ];
        prop_oneof![
            proptest::collection::vec(tricky, 0..8).prop_map(|chars| chars.into_iter().collect()),
            any::<String>(),
        ]
    }

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).expect("a pattern").is_match(text)
    }

    proptest::proptest! {
        #[test]
        fn each_pattern_takes_what_its_check_takes(text in tricky_text()) {
            let mut required = Checks::default();
            required.text("field", &text, usize::MAX);
            proptest::prop_assert_eq!(matches(&patterns::text(), &text), required.errors.is_empty(), "text");
            let mut optional = Checks::default();
            optional.optional_text("field", Some(&text), usize::MAX);
            proptest::prop_assert_eq!(matches(&patterns::optional_text(), &text), optional.errors.is_empty(), "optional");
            proptest::prop_assert_eq!(matches(patterns::SLUG, &text) && text.len() <= 100, is_slug(&text), "slug");
            let mut emails = Checks::default();
            email(&mut emails, "email", &text);
            let short = text.chars().count() <= 254;
            proptest::prop_assert_eq!(matches(&patterns::email(), &text) && short, emails.errors.is_empty(), "email");
            proptest::prop_assert_eq!(
                matches(&patterns::not_blank(), &text),
                !text.trim().is_empty() && !text.contains('\0'),
                "not blank"
            );
            let lines_only = !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
            proptest::prop_assert_eq!(matches(&patterns::lines(), &text), lines_only, "lines");
            proptest::prop_assert_eq!(
                matches(&patterns::optional_lines(), &text),
                !text.trim().chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
                "optional lines"
            );
        }
    }

    #[test]
    fn an_optional_text_over_its_length_is_refused_even_when_blank() {
        let mut checks = Checks::default();
        assert_eq!(checks.optional_text("phone", Some(&" ".repeat(41)), 40), None);
        assert_eq!(checks.errors.len(), 1, "blank, but longer than allowed");
        let mut checks = Checks::default();
        assert_eq!(checks.optional_text("phone", Some(&" ".repeat(40)), 40), None);
        assert!(checks.errors.is_empty(), "blank within the length is no phone");
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Blue Mug!"), "blue-mug");
        assert_eq!(slugify("  Über  Tasse  "), "ber-tasse");
        assert_eq!(slugify("!!!"), "item");
        assert!(is_slug("blue-mug-2"));
        assert!(!is_slug("Blue-Mug") && !is_slug("-mug") && !is_slug("a--b") && !is_slug(""));
    }

    #[test]
    fn passwords_need_ten_characters() {
        let mut checks = Checks::default();
        new_password(&mut checks, "password", "short");
        assert_eq!(checks.errors[0].field, "password");
        let mut checks = Checks::default();
        new_password(&mut checks, "password", "long enough!");
        assert!(checks.errors.is_empty());
    }
}
