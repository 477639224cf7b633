//! The event outbox: one row per domain event, written in the transaction that made the
//! change, so nothing is announced that did not happen.

use super::{Conn, Raw, Store, StoreResult};
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

/// The PostgreSQL notification channel of events.
pub const CHANNEL: &str = "backroom_events";

/// On PostgreSQL, notifies `CHANNEL` with `payload` when the transaction commits; on
/// SQLite (one process) there is no one else to tell.
pub async fn notify(conn: &mut Conn, payload: &str) -> StoreResult<()> {
    if let Raw::Postgres(c) = conn.raw() {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// On PostgreSQL, a connection listening on `CHANNEL` for every process's events.
pub struct EventListener(sqlx::postgres::PgListener);

impl EventListener {
    /// Listens, on PostgreSQL; `None` on SQLite (or, logged, when listening fails). Made
    /// before the server accepts requests, so no event of the process's lifetime is missed.
    pub async fn connect(store: &Store) -> Option<EventListener> {
        let Store::Postgres(pool) = store else { return None };
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => Some(EventListener(listener)),
            Err(error) => {
                tracing::error!(%error, "cannot listen for events; live streams will miss changes");
                None
            }
        }
    }

    /// The next notification's payload; `None` once the pool is closed.
    pub async fn next_payload(&mut self) -> Option<String> {
        loop {
            match self.0.recv().await {
                Ok(notification) => return Some(notification.payload().to_owned()),
                Err(sqlx::Error::PoolClosed) => return None,
                // The listener reconnects by itself on its next receive.
                Err(error) => tracing::warn!(%error, "event listener lost its connection; reconnecting"),
            }
        }
    }
}
