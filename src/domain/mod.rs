//! The rules of the shop, as plain types and operations.
//!
//! Operations here decide; they reach the database only through `crate::store` functions
//! and know nothing of HTTP. Authorization is checked here too (design.md, invariant 5):
//! a thing that belongs to someone else is `NotFound`, never `Forbidden`.

pub mod accounts;
pub mod carts;
pub mod catalog;
pub mod catalog_changes;
pub mod catalog_csv;
pub mod checkout;
pub mod content;
pub mod countries;
pub mod discounts;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod images;
pub mod inventory;
pub mod markdown;
pub mod money;
pub mod order_emails;
pub mod orders;
pub mod outbox;
pub mod payment_attempts;
pub mod payments;
pub mod pricing;
pub mod reports;
pub mod search;
pub mod shipping;
pub mod shop;
pub mod time;
pub mod validate;
pub mod webhooks;

use crate::store::StoreError;

/// One invalid field of a request, named by its path in the request body (`shipping_address.country`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A line of a checkout that the stock cannot cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub variant_id: String,
    /// The cart line's title ("Enamel Camp Mug / White"), so that the shopper is told which.
    pub title: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("the request is not valid")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication is required")]
    Unauthorized,
    /// A login that failed: the same for an unknown email and a wrong password, so that
    /// the answer tells nobody which emails have accounts.
    #[error("the email or password is wrong")]
    WrongCredentials,
    #[error("this account may not do that")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    /// A file of a kind that is not taken (an upload that is not an image).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("not enough stock for {} line(s)", .0.len())]
    OutOfStock(Vec<Shortage>),
    /// Checkout found prices that changed since the customer last saw the cart; the cart
    /// now shows them, and a new checkout pays them.
    #[error("the price of {} changed since the cart was last seen; it now shows the new price: check out again to pay it",
        .0.iter().map(|change| change.title.as_str()).collect::<Vec<_>>().join(", "))]
    PricesChanged(Vec<carts::PriceChange>),
    /// A variant has no price in the cart's currency (`field` names it).
    #[error("this is not sold in {currency}")]
    NotSoldInCurrency { field: String, currency: String },
    /// A code that cannot go on the cart, and why.
    #[error("{}", reason.message())]
    DiscountInvalid { reason: discounts::InvalidReason },
    /// Checkout found discounts on the cart it could not use (no use left, or no longer
    /// valid); nothing was charged, and the codes are off the cart.
    #[error("these discounts can no longer be used: {}; check out again without them", names.join(", "))]
    DiscountUnavailable {
        /// The codes among them (automatic discounts have none).
        codes: Vec<String>,
        /// Each by its code, or an automatic one by its description.
        names: Vec<String>,
    },
    #[error("the payment was declined")]
    PaymentDeclined { decline_code: String },
    #[error("the payment provider failed: {0}")]
    PaymentProvider(String),
    /// The provider's answer was lost (a timeout, a 5xx): the charge may have happened.
    /// The attempt keeps its stock until the recovery job learns the outcome.
    #[error("the payment provider's outcome is not known yet: {0}")]
    PaymentOutcomeUnknown(String),
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        DomainError::Conflict(detail.into())
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Who is calling: resolved from a session token or API key by the HTTP layer, checked by
/// the operations themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Customer {
        id: String,
        email: String,
    },
    Staff {
        id: String,
        role: accounts::Role,
    },
    /// A server-to-server key: staff powers limited to its scopes.
    ApiKey {
        id: String,
        scopes: Vec<Permission>,
    },
}

/// What a staff member or API key may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Products, variants and categories.
    Catalog,
    /// Stock levels.
    Inventory,
    /// Orders: reading, fulfilling, canceling, refunding; the shop's event stream.
    Orders,
    /// Staff accounts, API keys and the audit log: admins only, never an API key.
    Administration,
}

impl Permission {
    /// The permissions an API key may be given.
    pub const SCOPES: [Permission; 3] = [Permission::Catalog, Permission::Inventory, Permission::Orders];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Catalog => "catalog",
            Permission::Inventory => "inventory",
            Permission::Orders => "orders",
            Permission::Administration => "administration",
        }
    }

    /// A scope an API key may hold.
    pub fn parse_scope(value: &str) -> Option<Permission> {
        Permission::SCOPES.into_iter().find(|scope| scope.as_str() == value)
    }
}

impl Principal {
    /// Whoever runs a command on the server (`backroom import`): the catalog and stock
    /// powers of an API key, which no request can present.
    pub fn command_line() -> Principal {
        Principal::ApiKey {
            id: "key_command_line".to_owned(),
            scopes: vec![Permission::Catalog, Permission::Inventory],
        }
    }

    pub fn customer_id(&self) -> Option<&str> {
        match self {
            Principal::Customer { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The idempotency scope of this caller (contract: anonymous callers share one scope).
    pub fn scope(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::Customer { id, .. } | Principal::Staff { id, .. } | Principal::ApiKey { id, .. } => id.clone(),
        }
    }

    /// A staff member or API key of any role or scope: `Forbidden` for a customer,
    /// `Unauthorized` for no one. Returns the actor's id.
    pub fn require_staff(&self) -> DomainResult<&str> {
        match self {
            Principal::Staff { id, .. } | Principal::ApiKey { id, .. } => Ok(id),
            Principal::Customer { .. } => Err(DomainError::Forbidden),
            Principal::Anonymous => Err(DomainError::Unauthorized),
        }
    }

    /// A caller holding `permission`: admins hold all, staff all but administration, API
    /// keys their scopes. Returns the actor's id.
    pub fn require(&self, permission: Permission) -> DomainResult<&str> {
        let id = self.require_staff()?;
        let allowed = match self {
            Principal::Staff {
                role: accounts::Role::Admin,
                ..
            } => true,
            Principal::Staff {
                role: accounts::Role::Staff,
                ..
            } => permission != Permission::Administration,
            Principal::ApiKey { scopes, .. } => scopes.contains(&permission),
            Principal::Customer { .. } | Principal::Anonymous => false,
        };
        if allowed { Ok(id) } else { Err(DomainError::Forbidden) }
    }

    /// The staff member behind this caller, if it is one (API keys are not).
    pub fn staff_id(&self) -> Option<&str> {
        match self {
            Principal::Staff { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn require_customer(&self) -> DomainResult<(&str, &str)> {
        match self {
            Principal::Customer { id, email } => Ok((id, email)),
            Principal::Staff { .. } | Principal::ApiKey { .. } => Err(DomainError::Forbidden),
            Principal::Anonymous => Err(DomainError::Unauthorized),
        }
    }
}

/// A page of a list, newest first.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `limit` and the decoded `cursor` (the id of the last item seen) of a list request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after_id: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: i64 = 20;
    pub const MAX_LIMIT: i64 = 100;

    /// Validates `limit` (1..=100) and decodes an opaque `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> DomainResult<PageRequest> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        let mut errors = Vec::new();
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new("limit", "must be between 1 and 100"));
        }
        let after_id = match cursor {
            None => None,
            Some(cursor) => match ids::decode_cursor(cursor) {
                Some(id) => Some(id),
                None => {
                    errors.push(FieldError::new("cursor", "is not a cursor this API returned"));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(PageRequest { limit, after_id })
        } else {
            Err(DomainError::Validation(errors))
        }
    }

    /// Turns rows fetched with `limit + 1` into a page; `id` reads an item's id.
    pub fn into_page<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> &str) -> Page<T> {
        let next_cursor = if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            rows.last().map(|last| ids::encode_cursor(id(last)))
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }

    /// The id the page starts after (ids sort by creation, newest first); `None` for the
    /// first page.
    pub fn before(&self) -> Option<&str> {
        self.after_id.as_deref()
    }

    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}
