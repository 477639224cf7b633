//! The outbox: side effects (emails, later webhooks) written as rows in the transaction
//! that decided them, and delivered by the background job.

use super::{Conn, Store, StoreResult, dialect, placeholders};
use crate::{exec, on_conn};

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
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    update_listed(
        &mut tx,
        "next_attempt_at = $1, attempts = attempts + 1",
        lease_until,
        &ids,
    )
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// A delivery that failed, to be tried again at `retry_at`.
pub struct FailedDelivery<'a> {
    pub id: &'a str,
    pub error: &'a str,
    pub retry_at: i64,
}

/// Records the outcomes of a round of deliveries in one transaction: `delivered` in one
/// statement, each failure in its own.
pub async fn record_deliveries(
    db: &Store,
    delivered: &[&str],
    failed: &[FailedDelivery<'_>],
    now: i64,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    // The payload goes once delivered: it may hold a secret (a reset token).
    update_listed(
        &mut tx,
        "delivered_at = $1, last_error = NULL, payload = '{}'",
        now,
        delivered,
    )
    .await?;
    for failure in failed {
        exec!(
            tx,
            sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1")
                .bind(failure.id)
                .bind(failure.error)
                .bind(failure.retry_at)
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// `UPDATE outbox SET {set} WHERE id IN (ids)`, with `$1` in `set` bound to `value`: one
/// statement for a whole batch.
async fn update_listed(conn: &mut Conn, set: &str, value: i64, ids: &[&str]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE outbox SET {set} WHERE id IN ({})", placeholders(2, ids.len()));
    on_conn!(conn, |c| {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(value);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(c).await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Deletes messages delivered before `before`.
pub async fn delete_delivered_before(conn: &mut Conn, before: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM outbox WHERE delivered_at < $1").bind(before)
    )?)
}
