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

    /// A trimmed, non-empty, single-line text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.fail(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }

    /// An optional text: blank becomes `None`.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        Some(value.to_owned())
    }
}

/// A lower-cased email address with one `@`, a dot in the domain and no spaces.
pub fn email(checks: &mut Checks, field: &str, value: &str) -> String {
    let email = value.trim().to_lowercase();
    let well_formed = email.len() <= 254
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
