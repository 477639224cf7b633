//! The event outbox: one row per domain event, written in the transaction that made the
//! change, so nothing is announced that did not happen.

use super::{Conn, StoreResult};
use crate::on_conn;

pub async fn insert_event(
    conn: &mut Conn,
    id: &str,
    kind: &str,
    order_id: &str,
    customer_id: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    on_conn!(conn, |c| {
        sqlx::query("INSERT INTO events (id, type, order_id, customer_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(kind)
            .bind(order_id)
            .bind(customer_id)
            .bind(now)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}
