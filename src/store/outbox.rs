//! The outbox: side effects (emails, later webhooks) written as rows in the transaction
//! that decided them, and delivered by the background job.

use super::{Conn, Store, StoreResult};
use crate::on_conn;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

pub async fn insert_message(conn: &mut Conn, id: &str, kind: &str, payload: &str, now: i64) -> StoreResult<()> {
    on_conn!(conn, |c| {
        sqlx::query("INSERT INTO outbox (id, kind, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(id)
            .bind(kind)
            .bind(payload)
            .bind(now)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Claims up to `limit` undelivered messages that are due, pushing their next attempt to
/// `lease_until` so that no other worker takes them meanwhile. On PostgreSQL the claim
/// skips rows another worker holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
pub async fn claim_due(db: &Store, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<OutboxRow>> {
    let mut tx = db.write().await?;
    let rows: Vec<OutboxRow> = match db {
        Store::Sqlite { .. } => on_conn!(tx, |c| {
            sqlx::query_as(
                "SELECT id, kind, payload, attempts FROM outbox
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
        })?,
        Store::Postgres(_) => on_conn!(tx, |c| {
            sqlx::query_as(
                "SELECT id, kind, payload, attempts FROM outbox
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2
                 FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
        })?,
    };
    for row in &rows {
        on_conn!(tx, |c| {
            sqlx::query("UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(&row.id)
                .bind(lease_until)
                .execute(c)
                .await
                .map(|done| done.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(rows)
}

pub async fn mark_delivered(db: &Store, id: &str, now: i64) -> StoreResult<()> {
    let mut tx = db.write().await?;
    on_conn!(tx, |c| {
        // The payload goes once delivered: it may hold a secret (a reset token).
        sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL, payload = '{}' WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    tx.commit().await?;
    Ok(())
}

pub async fn mark_failed(db: &Store, id: &str, error: &str, retry_at: i64) -> StoreResult<()> {
    let mut tx = db.write().await?;
    on_conn!(tx, |c| {
        sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(retry_at)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    tx.commit().await?;
    Ok(())
}

/// Deletes messages delivered before `before`.
pub async fn delete_delivered_before(conn: &mut Conn, before: i64) -> StoreResult<u64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query("DELETE FROM outbox WHERE delivered_at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?)
}
