//! Where SQLite and PostgreSQL differ, in one place: row locks, skipping rows another
//! worker holds, advisory locks, and notifications between processes. Every other query
//! of the store is written once for both.
//!
//! SQLite has one writer at a time (`group_commit`), so what PostgreSQL needs locks for is
//! serialized there already, and there is no other process to notify.

use super::catalog::VariantRow;
use super::outbox::OutboxRow;
use super::{Conn, Raw, Store, StoreResult};

/// A variant, locked until the transaction ends so that concurrent edits cannot overwrite
/// each other: PostgreSQL takes the row lock.
pub async fn lock_variant(conn: &mut Conn, id: &str) -> StoreResult<Option<VariantRow>> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            sqlx::query_as(
                "SELECT id, product_id, sku, title, price_amount, currency, options, on_hand, reserved, position,
                        weight_grams
                 FROM variants WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(c)
            .await
        }
        Raw::Postgres(c) => {
            sqlx::query_as(
                "SELECT id, product_id, sku, title, price_amount, currency, options, on_hand, reserved, position,
                        weight_grams
                 FROM variants WHERE id = $1 FOR UPDATE",
            )
            .bind(id)
            .fetch_optional(c)
            .await
        }
    }?)
}

/// Locks a discount until the transaction ends (PostgreSQL: `FOR UPDATE`, which also holds
/// off rows that would refer to it); false when it is missing.
pub async fn lock_discount(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    let found: Option<i64> = match conn.raw() {
        Raw::Sqlite(c) => {
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM discounts WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        }
        Raw::Postgres(c) => {
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM discounts WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(c)
                .await
        }
    }?;
    Ok(found.is_some())
}

/// Due undelivered outbox messages, locked for the caller's transaction: on PostgreSQL it
/// skips rows another worker holds (`FOR UPDATE SKIP LOCKED`), so any number of
/// processes claim disjoint messages.
pub async fn lock_due_outbox_rows(conn: &mut Conn, now: i64, limit: i64) -> StoreResult<Vec<OutboxRow>> {
    Ok(match conn.raw() {
        Raw::Sqlite(c) => {
            sqlx::query_as(
                "SELECT id, kind, payload, attempts FROM outbox
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
        }
        Raw::Postgres(c) => {
            sqlx::query_as(
                "SELECT id, kind, payload, attempts FROM outbox
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2
                 FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
        }
    }?)
}

/// Serializes logins for one email and one client address until the transaction ends, so
/// that counting failures and recording one is atomic. PostgreSQL takes advisory locks
/// (the email's first, always, so two logins cannot wait on each other in a circle);
/// SQLite's writing transactions are serialized already.
pub async fn lock_login_counters(conn: &mut Conn, email: &str, client_ip: &str) -> StoreResult<()> {
    if let Raw::Postgres(c) = conn.raw() {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)), pg_advisory_xact_lock(hashtext($2))")
            .bind(format!("login email {email}"))
            .bind(format!("login client {client_ip}"))
            .execute(c)
            .await?;
    }
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
