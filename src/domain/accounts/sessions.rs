//! Sessions: login (throttled), logout, password changes, and resolving a session token
//! to the [`Principal`] behind it.

use super::passwords::{hash_password, verify_password};
use super::{Account, Session, hash_token, new_secret};
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, Checks};
use crate::domain::{DomainError, DomainResult, Principal, ids};
use crate::store::customers::{self as store, SessionOwner, SessionTimes};
use crate::store::{Conn, Store, StoreError, dialect};

/// How long sessions last: until the absolute expiry, or until idle this long.
struct SessionPolicy {
    absolute_seconds: i64,
    idle_seconds: i64,
}

/// Customers stay logged in for weeks, as shoppers expect.
const CUSTOMER_SESSIONS: SessionPolicy = SessionPolicy {
    absolute_seconds: 30 * 24 * 3600,
    idle_seconds: 7 * 24 * 3600,
};
/// Staff sessions hold the keys to the shop: a working day, and an hour idle.
const STAFF_SESSIONS: SessionPolicy = SessionPolicy {
    absolute_seconds: 12 * 3600,
    idle_seconds: 3600,
};
/// A session's last use is written at most this often, so reads stay reads.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The login throttle (OWASP): this many failures within the window, per account or per
/// client address, and further attempts are refused until the oldest failure ages out.
pub const LOGIN_FAILURE_LIMIT: i64 = 10;
pub const LOGIN_FAILURE_WINDOW_SECONDS: i64 = 15 * 60;

/// Logs in a customer or a staff member by email and password, from `client_ip`.
///
/// # Errors
/// `WrongCredentials` for an unknown email and for a wrong password alike; `RateLimited`
/// after [`LOGIN_FAILURE_LIMIT`] failures within the window for this email or this client.
pub async fn login(db: &Store, email: &str, password: &str, client_ip: &str) -> DomainResult<(Account, Session)> {
    let email = email.trim().to_lowercase();
    let now = Timestamp::now();
    // The attempt counts as a failure before the password is even checked, in the same
    // transaction as the check of the count: concurrent guesses cannot all slip under the
    // limit. A success deletes it again.
    let mut tx = db.write().await?;
    dialect::lock_login_counters(&mut tx, &email, client_ip).await?;
    check_throttle(&mut tx, &email, client_ip, now).await?;
    store::insert_login_failure(&mut tx, &ids::new_id("lf"), &email, client_ip, now.0).await?;
    tx.commit().await?;

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
    let matches = verify_password(password.to_owned(), stored_hash).await?;

    if !(known && matches) {
        return Err(DomainError::WrongCredentials);
    }
    let mut tx = db.write().await?;
    store::clear_login_failures(&mut tx, &email).await?;
    let (account, session) = match (customer, staff) {
        (Some(customer), _) => {
            let session = start_session(&mut tx, SessionOwner::Customer(&customer.id), now).await?;
            (Account::Customer(customer.into()), session)
        }
        (None, Some(staff)) => {
            let session = start_session(&mut tx, SessionOwner::Staff(&staff.id), now).await?;
            (Account::Staff(staff.try_into()?), session)
        }
        (None, None) => return Err(DomainError::WrongCredentials),
    };
    tx.commit().await?;
    Ok((account, session))
}

async fn check_throttle(conn: &mut Conn, email: &str, client_ip: &str, now: Timestamp) -> DomainResult<()> {
    let since = now.plus_seconds(-LOGIN_FAILURE_WINDOW_SECONDS).0;
    let counts = store::count_login_failures(conn, email, client_ip, since).await?;
    let oldest = [
        (counts.by_email, counts.oldest_by_email),
        (counts.by_client, counts.oldest_by_client),
    ]
    .into_iter()
    .filter(|(count, _)| *count >= LOGIN_FAILURE_LIMIT)
    .filter_map(|(_, oldest)| oldest)
    .max();
    match oldest {
        None => Ok(()),
        Some(oldest) => {
            let frees_at = Timestamp(oldest).plus_seconds(LOGIN_FAILURE_WINDOW_SECONDS);
            let retry_after_seconds = ((frees_at.0 - now.0) / 1_000_000).max(1);
            Err(DomainError::RateLimited { retry_after_seconds })
        }
    }
}

/// Revokes every session of the caller ("log out everywhere").
pub async fn logout_everywhere(db: &Store, caller: &Principal) -> DomainResult<()> {
    let owner = session_owner(caller)?;
    let mut tx = db.write().await?;
    store::delete_sessions_of(&mut tx, owner, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the caller's password; every other session of theirs is revoked.
pub async fn change_password(
    db: &Store,
    caller: &Principal,
    current_token: &str,
    current_password: &str,
    new_password: &str,
) -> DomainResult<()> {
    let owner = session_owner(caller)?;
    let mut checks = Checks::default();
    validate::new_password(&mut checks, "new_password", new_password);
    checks.finish()?;
    let stored_hash = {
        let mut conn = db.read().await?;
        match owner {
            SessionOwner::Customer(id) => store::find_customer(&mut conn, id).await?.map(|row| row.password_hash),
            SessionOwner::Staff(id) => store::find_staff(&mut conn, id).await?.map(|row| row.password_hash),
        }
        .ok_or(DomainError::Unauthorized)?
    };
    if !verify_password(current_password.to_owned(), Some(stored_hash)).await? {
        return Err(DomainError::invalid("current_password", "is not the current password"));
    }
    let new_hash = hash_password(new_password.to_owned()).await?;
    let now = Timestamp::now().0;
    let mut tx = db.write().await?;
    match owner {
        SessionOwner::Customer(id) => store::update_customer_password(&mut tx, id, &new_hash, now).await?,
        SessionOwner::Staff(id) => store::update_staff_password(&mut tx, id, &new_hash, now).await?,
    }
    store::delete_sessions_of(&mut tx, owner, Some(&hash_token(current_token))).await?;
    let (kind, id) = match owner {
        SessionOwner::Customer(id) => ("customer", id),
        SessionOwner::Staff(id) => ("staff", id),
    };
    store::retire_password_resets(&mut tx, kind, id, now).await?;
    tx.commit().await?;
    Ok(())
}

fn session_owner(caller: &Principal) -> DomainResult<SessionOwner<'_>> {
    match caller {
        Principal::Customer { id, .. } => Ok(SessionOwner::Customer(id)),
        Principal::Staff { id, .. } => Ok(SessionOwner::Staff(id)),
        Principal::ApiKey { .. } => Err(DomainError::Forbidden),
        Principal::Anonymous => Err(DomainError::Unauthorized),
    }
}

/// Deletes expired sessions and login failures past the throttle window.
pub async fn delete_expired(db: &Store) -> DomainResult<u64> {
    let now = Timestamp::now();
    let mut tx = db.write().await?;
    let sessions = store::delete_expired_sessions(&mut tx, now.0).await?;
    let failures =
        store::delete_login_failures_before(&mut tx, now.plus_seconds(-LOGIN_FAILURE_WINDOW_SECONDS).0).await?;
    tx.commit().await?;
    Ok(sessions + failures)
}

/// Revokes the session of `token` at once.
pub async fn logout(db: &Store, token: &str) -> DomainResult<()> {
    let mut tx = db.write().await?;
    store::delete_session(&mut tx, &hash_token(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// The principal behind a session token, or `None` when the token is unknown, expired,
/// idle too long or revoked.
pub async fn resolve_session(db: &Store, token: &str) -> DomainResult<Option<Principal>> {
    if token.starts_with("bk_") {
        return super::api_keys::resolve_api_key(db, token).await;
    }
    let token_hash = hash_token(token);
    let now = Timestamp::now().0;
    let found = {
        let mut conn = db.read().await?;
        store::find_session_principal(&mut conn, &token_hash, now).await?
    };
    let Some(found) = found else { return Ok(None) };
    if now - found.last_seen_at > TOUCH_EVERY_SECONDS * 1_000_000 {
        let mut tx = db.write().await?;
        store::touch_session(&mut tx, &token_hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(match (found.customer_id, found.staff_id, found.role) {
        (Some(id), _, _) => Principal::Customer { id, email: found.email },
        (None, Some(id), Some(role)) => Principal::Staff {
            id,
            role: super::Role::parse(&role)?,
        },
        _ => return Err(DomainError::Internal("session without an owner".to_owned())),
    }))
}

pub(super) async fn start_session(
    tx: &mut Conn,
    owner: SessionOwner<'_>,
    now: Timestamp,
) -> Result<Session, StoreError> {
    let policy = match owner {
        SessionOwner::Customer(_) => CUSTOMER_SESSIONS,
        SessionOwner::Staff(_) => STAFF_SESSIONS,
    };
    let token = new_token();
    let expires_at = now.plus_seconds(policy.absolute_seconds);
    let times = SessionTimes {
        created_at: now.0,
        expires_at: expires_at.0,
        idle_seconds: policy.idle_seconds,
    };
    store::insert_session(tx, &hash_token(&token), owner, times).await?;
    Ok(Session { token, expires_at })
}

/// A session token: 256 random bits, URL-safe.
fn new_token() -> String {
    format!("brs_{}", new_secret())
}
