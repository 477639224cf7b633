//! The event outbox: one row per domain event, written in the transaction that made the
//! change, so nothing is announced that did not happen.

use super::{Conn, StoreResult};
use crate::exec;

pub async fn insert_event(
    conn: &mut Conn,
    id: &str,
    kind: &str,
    order_id: &str,
    customer_id: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("INSERT INTO events (id, type, order_id, customer_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(kind)
            .bind(order_id)
            .bind(customer_id)
            .bind(now)
    )?;
    Ok(())
}
