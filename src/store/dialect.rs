//! Where SQLite and PostgreSQL differ, in one place: row locks, skipping rows another
//! worker holds, advisory locks, and notifications between processes. Every other query
//! of the store is written once for both.
//!
//! SQLite has one writer at a time (`group_commit`), so what PostgreSQL needs locks for is
//! serialized there already, and its notifications go to its one process only. (The
//! events' commit order, `store::events`, is the other difference.)

use sqlx::PgConnection;

use super::catalog::VariantRow;
use super::outbox::OutboxRow;
use super::webhooks::DeliveryRow;
use super::{Conn, ConnInner, Raw, Store, StoreResult};

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

/// Locks up to `limit` due deliveries of enabled endpoints that are not busy, oldest
/// first. On PostgreSQL the claim skips rows another worker holds (`FOR
/// UPDATE SKIP LOCKED`), so any number of processes claim disjoint deliveries; SQLite has
/// one writer.
pub async fn lock_due_deliveries(conn: &mut Conn, now: i64, limit: i64) -> StoreResult<Vec<DeliveryRow>> {
    macro_rules! due {
        ($lock:literal) => {
            concat!(
                "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.response_status,
                        d.next_attempt_at, d.created_at
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.enabled
                   AND (e.busy_until IS NULL OR e.busy_until <= $1)
                 ORDER BY d.next_attempt_at, d.id LIMIT $2 ",
                $lock
            )
        };
    }
    Ok(match conn.raw() {
        Raw::Sqlite(c) => sqlx::query_as(due!("")).bind(now).bind(limit).fetch_all(c).await,
        Raw::Postgres(c) => {
            sqlx::query_as(due!("FOR UPDATE OF d SKIP LOCKED"))
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

/// Announces `payload` to every listener once the transaction commits, and never if it
/// does not: PostgreSQL notifies `CHANNEL`, heard by every process; SQLite keeps it on the
/// transaction for its one process (`Conn::commit`).
///
/// A PostgreSQL transaction keeps its notifications until [`send_notices`] sends them all
/// just before its commit: one round trip instead of one each. (A checkout's stock move,
/// the last of its work, is followed by its commit and nothing else.)
pub async fn notify(conn: &mut Conn, payload: &str) -> StoreResult<()> {
    if let ConnInner::PostgresPooled(c) = &mut conn.inner {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut **c)
            .await?;
    }
    // Kept for the commit: SQLite's announcement, PostgreSQL's notifications in a
    // transaction, and this process's observer on both. PostgreSQL folds a repeated
    // notification in one transaction into one; so does this.
    if !conn.notices.iter().any(|kept| kept == payload) {
        conn.notices.push(payload.to_owned());
    }
    Ok(())
}

/// Sends a PostgreSQL transaction's notifications, in one statement, before its commit.
pub(super) async fn send_notices(tx: &mut PgConnection, notices: &[String]) -> StoreResult<()> {
    if !notices.is_empty() {
        sqlx::query("SELECT pg_notify($1, payload) FROM UNNEST($2::text[]) AS payload")
            .bind(CHANNEL)
            .bind(notices)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Payload(String),
    /// Notifications may have been missed (a lost connection, a listener too slow):
    /// whoever relies on them must look at the rows again.
    Gap,
}

/// Hears every committed notification: on PostgreSQL a connection listening on `CHANNEL`
/// for every process's, on SQLite this process's own.
pub enum Notifications {
    Sqlite(tokio::sync::broadcast::Receiver<String>),
    Postgres(sqlx::postgres::PgListener),
}

impl Notifications {
    /// Starts listening (before the server accepts requests, so no notification of the
    /// process's lifetime is missed); `None`, logged, when PostgreSQL refuses.
    pub async fn listen(store: &Store) -> Option<Notifications> {
        let pool = match store {
            Store::Sqlite { announcer, .. } => return Some(Notifications::Sqlite(announcer.subscribe())),
            Store::Postgres(pool, _) => pool,
        };
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => Some(Notifications::Postgres(listener)),
            Err(error) => {
                tracing::error!(%error, "cannot listen for events; live streams will see changes late");
                None
            }
        }
    }

    /// The next thing heard; `None` once the database is closed.
    pub async fn next(&mut self) -> Option<Heard> {
        use tokio::sync::broadcast::error::RecvError;
        match self {
            Notifications::Sqlite(receiver) => match receiver.recv().await {
                Ok(payload) => Some(Heard::Payload(payload)),
                Err(RecvError::Lagged(_)) => Some(Heard::Gap),
                Err(RecvError::Closed) => None,
            },
            // `try_recv`, not `recv`: `recv` reconnects a lost connection without a word,
            // and what was sent meanwhile would be missed unnoticed.
            Notifications::Postgres(listener) => match listener.try_recv().await {
                Ok(Some(notification)) => Some(Heard::Payload(notification.payload().to_owned())),
                Ok(None) => {
                    tracing::warn!("event listener lost its connection; reconnecting");
                    Some(Heard::Gap)
                }
                Err(sqlx::Error::PoolClosed) => None,
                Err(error) => {
                    tracing::warn!(%error, "event listener failed; reconnecting");
                    Some(Heard::Gap)
                }
            },
        }
    }
}
