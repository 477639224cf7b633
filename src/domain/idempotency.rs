//! Idempotency keys (contract: Conventions, after Stripe): the first response to a
//! (caller, key) is kept for 24 hours and replayed to every retry of the same request.

use sha2::{Digest, Sha256};

use super::time::Timestamp;
use super::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::idempotency::{self as store, IdempotencyRow};

/// Records are kept this long.
pub const RETENTION_SECONDS: i64 = 24 * 3600;

/// A stored response, replayed as it was.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What to do with a request carrying a key.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: handle the request, then `complete` or `release`.
    Proceed,
    Replay(StoredResponse),
    /// The key was used with another method, target or body.
    Reused,
    /// The first request with this key is still running.
    InUse,
}

/// A fingerprint of method, target and body.
pub fn fingerprint(method: &str, target: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), b"\n", target.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A request carrying a key: who sent it, and what it asked.
pub struct KeyedRequest<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub target: &'a str,
    /// The [`fingerprint`] of method, target and body.
    pub hash: &'a str,
}

/// Claims the key of `request`. A first request still unfinished after
/// `abandon_after_seconds` died with its process: its key goes to the retry.
///
/// Every write here is one conditional statement that is right on its own (an insert
/// unless the key exists, a take-over only from the start time read), so they need no
/// transaction around them: [`Store::write_statements`] spares PostgreSQL two round trips
/// for each, on every POST that carries a key.
pub async fn claim(db: &Store, request: &KeyedRequest<'_>, abandon_after_seconds: i64) -> DomainResult<Claim> {
    let now = Timestamp::now();
    let row = IdempotencyRow {
        scope: request.scope.to_owned(),
        key: request.key.to_owned(),
        method: request.method.to_owned(),
        target: request.target.to_owned(),
        request_hash: request.hash.to_owned(),
        response_status: None,
        response_content_type: None,
        response_body: None,
        created_at: now.0,
        started_at: now.0,
    };
    let mut conn = db.write_statements().await?;
    if store::insert_in_progress(&mut conn, &row).await? {
        conn.commit().await?;
        return Ok(Claim::Proceed);
    }
    let (scope, key) = (request.scope, request.key);
    let existing = store::find(&mut conn, scope, key)
        .await?
        .ok_or_else(|| DomainError::Internal("idempotency record vanished".to_owned()))?;
    let claim = if existing.request_hash != request.hash {
        Claim::Reused
    } else if let Some(status) = existing.response_status {
        Claim::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            content_type: existing.response_content_type,
            body: existing.response_body.unwrap_or_default(),
        })
    } else if existing.started_at < now.plus_seconds(-abandon_after_seconds).0
        && store::take_over(&mut conn, scope, key, existing.started_at, now.0).await?
    {
        Claim::Proceed
    } else {
        Claim::InUse
    };
    conn.commit().await?;
    Ok(claim)
}

pub async fn complete(db: &Store, scope: &str, key: &str, response: &StoredResponse) -> DomainResult<()> {
    let mut conn = db.write_statements().await?;
    store::complete(
        &mut conn,
        scope,
        key,
        i64::from(response.status),
        response.content_type.as_deref(),
        &response.body,
    )
    .await?;
    conn.commit().await?;
    Ok(())
}

pub async fn release(db: &Store, scope: &str, key: &str) -> DomainResult<()> {
    let mut conn = db.write_statements().await?;
    store::release(&mut conn, scope, key).await?;
    conn.commit().await?;
    Ok(())
}

/// Deletes records older than the retention; returns how many.
pub async fn delete_expired(db: &Store) -> DomainResult<u64> {
    let mut tx = db.write().await?;
    let deleted = store::delete_created_before(&mut tx, Timestamp::now().plus_seconds(-RETENTION_SECONDS).0).await?;
    tx.commit().await?;
    Ok(deleted)
}
