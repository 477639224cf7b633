//! The outbox: side effects (emails, later webhooks) written as rows in the transaction
//! that decided them, and delivered by the background job.

use super::{Conn, Store, StoreResult, dialect};
use crate::exec;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

pub async fn insert_message(conn: &mut Conn, id: &str, kind: &str, payload: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("INSERT INTO outbox (id, kind, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(id)
            .bind(kind)
            .bind(payload)
            .bind(now)
    )?;
    Ok(())
}

/// Claims up to `limit` undelivered messages that are due, pushing their next attempt to
/// `lease_until` so that no other worker takes them meanwhile. On PostgreSQL the claim
/// skips rows another worker holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
pub async fn claim_due(db: &Store, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<OutboxRow>> {
    let mut tx = db.write().await?;
    let rows = dialect::lock_due_outbox_rows(&mut tx, now, limit).await?;
    for row in &rows {
        exec!(
            tx,
            sqlx::query("UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(&row.id)
                .bind(lease_until)
        )?;
    }
    tx.commit().await?;
    Ok(rows)
}

pub async fn mark_delivered(db: &Store, id: &str, now: i64) -> StoreResult<()> {
    let mut tx = db.write().await?;
    // The payload goes once delivered: it may hold a secret (a reset token).
    exec!(
        tx,
        sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL, payload = '{}' WHERE id = $1")
            .bind(id)
            .bind(now)
    )?;
    tx.commit().await?;
    Ok(())
}

pub async fn mark_failed(db: &Store, id: &str, error: &str, retry_at: i64) -> StoreResult<()> {
    let mut tx = db.write().await?;
    exec!(
        tx,
        sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(retry_at)
    )?;
    tx.commit().await?;
    Ok(())
}

/// Deletes messages delivered before `before`.
pub async fn delete_delivered_before(conn: &mut Conn, before: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM outbox WHERE delivered_at < $1").bind(before)
    )?)
}
