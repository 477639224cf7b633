//! Customer accounts and sessions: registration, login, logout, and resolving a session
//! token to the [`Principal`] behind it.
//!
//! Passwords are hashed with argon2id (OWASP's recommended minimum: 19 MiB, 2 passes) on
//! the blocking pool, at most two at a time so logins cannot starve the runtime on two
//! cores. A login for an unknown email verifies against a dummy hash, so it costs the same
//! as a wrong password and answers the same.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::staff::Role;
use super::time::Timestamp;
use super::validate::{self, Checks};
use super::{DomainError, DomainResult, Principal, ids};
use crate::store::customers::{self as store, CustomerRow, SessionOwner};
use crate::store::{Store, StoreError};

/// Sessions last 30 days.
const SESSION_SECONDS: i64 = 30 * 24 * 3600;

static HASHING: Semaphore = Semaphore::const_new(2);

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

pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: Option<&'a str>,
}

pub async fn register(db: &Store, input: Registration<'_>) -> DomainResult<(Customer, Session)> {
    let mut checks = Checks::default();
    let email = validate::email(&mut checks, "email", input.email);
    validate::password(&mut checks, input.password);
    let name = checks.optional_text("name", input.name, 200);
    checks.finish()?;

    let password_hash = hash_password(input.password.to_owned()).await?;
    let now = Timestamp::now();
    let row = CustomerRow {
        id: ids::new_id("cus"),
        email,
        name,
        password_hash,
        created_at: now.0,
    };
    let mut tx = db.write().await?;
    // One email, one account: a customer may not take a staff member's email.
    if store::find_staff_by_email(&mut tx, &row.email).await?.is_some() {
        return Err(DomainError::conflict("an account with this email already exists"));
    }
    store::insert_customer(&mut tx, &row).await.map_err(|error| {
        if error.is_unique_violation("customers.email") {
            DomainError::conflict("an account with this email already exists")
        } else {
            error.into()
        }
    })?;
    let session = start_session(&mut tx, SessionOwner::Customer(&row.id), now).await?;
    tx.commit().await?;
    Ok((row.into(), session))
}

/// Logs in a customer or a staff member by email and password.
///
/// # Errors
/// `Unauthorized` for an unknown email and for a wrong password alike.
pub async fn login(db: &Store, email: &str, password: &str) -> DomainResult<(Account, Session)> {
    let email = email.trim().to_lowercase();
    let mut conn = db.read().await?;
    let customer = store::find_customer_by_email(&mut conn, &email).await?;
    let staff = match customer {
        Some(_) => None,
        None => store::find_staff_by_email(&mut conn, &email).await?,
    };
    drop(conn);
    let stored_hash = customer
        .as_ref()
        .map(|c| c.password_hash.clone())
        .or_else(|| staff.as_ref().map(|s| s.password_hash.clone()));
    let known = stored_hash.is_some();
    let matches = verify_password(password.to_owned(), stored_hash.unwrap_or_else(|| DUMMY_HASH.clone())).await?;
    if !(known && matches) {
        return Err(DomainError::Unauthorized);
    }

    let now = Timestamp::now();
    let mut tx = db.write().await?;
    let (account, session) = match (customer, staff) {
        (Some(customer), _) => {
            let session = start_session(&mut tx, SessionOwner::Customer(&customer.id), now).await?;
            (Account::Customer(customer.into()), session)
        }
        (None, Some(staff)) => {
            let session = start_session(&mut tx, SessionOwner::Staff(&staff.id), now).await?;
            (Account::Staff(staff.try_into()?), session)
        }
        (None, None) => return Err(DomainError::Unauthorized),
    };
    tx.commit().await?;
    Ok((account, session))
}

/// Revokes the session of `token` at once.
pub async fn logout(db: &Store, token: &str) -> DomainResult<()> {
    let mut tx = db.write().await?;
    store::delete_session(&mut tx, &hash_token(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// The principal behind a session token, or `None` when the token is unknown or expired.
pub async fn resolve_session(db: &Store, token: &str) -> DomainResult<Option<Principal>> {
    let mut conn = db.read().await?;
    let found = store::find_session_principal(&mut conn, &hash_token(token), Timestamp::now().0).await?;
    Ok(match found {
        None => None,
        Some(found) => Some(match (found.customer_id, found.staff_id, found.role) {
            (Some(id), _, _) => Principal::Customer { id, email: found.email },
            (None, Some(id), Some(role)) => Principal::Staff {
                id,
                role: Role::parse(&role)?,
            },
            _ => return Err(DomainError::Internal("session without an owner".to_owned())),
        }),
    })
}

pub async fn get_customer(db: &Store, id: &str) -> DomainResult<Customer> {
    let mut conn = db.read().await?;
    let row = store::find_customer(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("customer"))?;
    Ok(row.into())
}

async fn start_session(
    tx: &mut crate::store::Conn,
    owner: SessionOwner<'_>,
    now: Timestamp,
) -> Result<Session, StoreError> {
    let token = new_token();
    let expires_at = now.plus_seconds(SESSION_SECONDS);
    store::insert_session(tx, &hash_token(&token), owner, now.0, expires_at.0).await?;
    Ok(Session { token, expires_at })
}

/// 256 random bits, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("brs_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 suffices for tokens (unlike passwords): they carry 256 bits of entropy.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"not a real password, only spends the same time")
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

pub async fn hash_password(password: String) -> DomainResult<String> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|error| DomainError::Internal(error.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| DomainError::Internal(format!("hashing failed: {error}")))
    })
    .await
    .map_err(|error| DomainError::Internal(error.to_string()))?
}

async fn verify_password(password: String, stored_hash: String) -> DomainResult<bool> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|error| DomainError::Internal(error.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored_hash) else {
            return false;
        };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(|error| DomainError::Internal(error.to_string()))
}
