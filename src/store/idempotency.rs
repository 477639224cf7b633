//! Idempotency records: one row per (caller scope, key).

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub scope: String,
    pub key: String,
    pub method: String,
    pub target: String,
    pub request_hash: String,
    pub response_status: Option<i64>,
    pub response_content_type: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: i64,
    pub started_at: i64,
}

/// Claims a key for a first request; false when a record for it exists already.
pub async fn insert_in_progress(conn: &mut Conn, row: &IdempotencyRow) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, method, target, request_hash, created_at, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&row.scope)
        .bind(&row.key)
        .bind(&row.method)
        .bind(&row.target)
        .bind(&row.request_hash)
        .bind(row.created_at)
    )?;
    Ok(result == 1)
}

pub async fn find(conn: &mut Conn, scope: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT scope, key, method, target, request_hash, response_status, response_content_type, response_body,
                    created_at, started_at
             FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(c)
        .await
    })?)
}

/// Takes over a record whose first request started at `started_at` and never finished;
/// false when someone else took it over or finished it first.
pub async fn take_over(conn: &mut Conn, scope: &str, key: &str, started_at: i64, now: i64) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "UPDATE idempotency_keys SET started_at = $4
             WHERE scope = $1 AND key = $2 AND started_at = $3 AND response_status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .bind(started_at)
        .bind(now)
    )?;
    Ok(result == 1)
}

pub async fn complete(
    conn: &mut Conn,
    scope: &str,
    key: &str,
    status: i64,
    content_type: Option<&str>,
    body: &[u8],
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $3, response_content_type = $4, response_body = $5
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(status)
        .bind(content_type)
        .bind(body)
    )?;
    Ok(())
}

/// Forgets an unfinished record so the key can be used again.
pub async fn release(conn: &mut Conn, scope: &str, key: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND response_status IS NULL")
            .bind(scope)
            .bind(key)
    )?;
    Ok(())
}

pub async fn delete_created_before(conn: &mut Conn, before: i64) -> StoreResult<u64> {
    let result = exec!(
        conn,
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(before)
    )?;
    Ok(result)
}
