//! Accounts: customers and staff, their sessions and passwords, API keys, the audit log
//! and password resets. Everything that says who someone is, and what their credentials
//! are, lives under this module; `Principal` (in the parent) is what the rest of the
//! domain sees of them.

pub mod addresses;
pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod password_reset;
mod passwords;
pub mod sessions;
pub mod staff;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::time::Timestamp;
use super::{DomainError, DomainResult};
use crate::store::customers::{CustomerRow, StaffRow};

pub use passwords::hash_password;

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: Timestamp,
}

impl From<CustomerRow> for Customer {
    fn from(row: CustomerRow) -> Self {
        Customer {
            id: row.id,
            email: row.email,
            name: row.name,
            created_at: Timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A new session: the token is shown once and only its hash is stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub enum Account {
    Customer(Customer),
    Staff(StaffMember),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including staff accounts and settings.
    Admin,
    /// Catalog, stock and orders.
    Staff,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Admin, Role::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    pub fn parse(value: &str) -> DomainResult<Role> {
        match value {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            other => Err(DomainError::Internal(format!("unknown staff role {other:?}"))),
        }
    }
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = DomainError;

    fn try_from(row: StaffRow) -> DomainResult<Self> {
        Ok(StaffMember {
            id: row.id,
            email: row.email,
            name: row.name,
            role: Role::parse(&row.role)?,
            created_at: Timestamp(row.created_at),
        })
    }
}

/// 256 random bits, URL-safe: the body of every token and key Backroom hands out.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 suffices for tokens (unlike passwords): they carry 256 bits of entropy.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
