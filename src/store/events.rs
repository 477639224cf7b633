//! Events: one row per domain event, written in the transaction that made the change, so
//! nothing is announced that did not happen. Streams read them in the order they
//! committed ([`EventPosition`]); the event log lists them newest first.

use super::{Conn, Raw, StoreResult};
use crate::on_conn;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject_id: Option<String>,
    /// JSON: the subject as the API showed it when the event happened.
    pub data: String,
    pub created_at: i64,
}

/// Where an event stands in commit order. SQLite numbers events as its one writer commits
/// them (`seq`); on PostgreSQL, where transactions commit in another order than they write,
/// an event stands by its transaction's id (`tx`), then its `seq`, and readers never pass a
/// transaction that may still be running (see [`list_events_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, sqlx::FromRow)]
pub struct EventPosition {
    pub tx: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PositionedEventRow {
    #[sqlx(flatten)]
    pub event: EventRow,
    #[sqlx(flatten)]
    pub position: EventPosition,
}

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub subject_id: &'a str,
    /// The subject when it is an order, for the column events had before subjects.
    pub order_id: Option<&'a str>,
    pub data: &'a str,
    pub created_at: i64,
}

pub async fn insert_event(conn: &mut Conn, event: &NewEvent<'_>) -> StoreResult<()> {
    // SQLite's one writer numbers events in commit order; PostgreSQL's columns default to
    // the transaction's id and a sequence.
    let sql = match conn.raw() {
        Raw::Sqlite(_) => {
            "INSERT INTO events (id, type, subject_id, order_id, data, created_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events))"
        }
        Raw::Postgres(_) => {
            "INSERT INTO events (id, type, subject_id, order_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
        }
    };
    on_conn!(conn, |c| sqlx::query(sql)
        .bind(event.id)
        .bind(event.kind)
        .bind(event.subject_id)
        .bind(event.order_id)
        .bind(event.data)
        .bind(event.created_at)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(())
}

pub async fn find_event(conn: &mut Conn, id: &str) -> StoreResult<Option<EventRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, type, subject_id, data, created_at FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Events newest first, of one type or all, before the event `before_id`.
pub async fn list_events(
    conn: &mut Conn,
    kind: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<EventRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, type, subject_id, data, created_at FROM events
             WHERE ($1 IS NULL OR type = $1) AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(kind)
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Where the event `id` stands, if it is still kept.
pub async fn find_position(conn: &mut Conn, id: &str) -> StoreResult<Option<EventPosition>> {
    let sql = match conn.raw() {
        Raw::Sqlite(_) => "SELECT 0 AS tx, seq FROM events WHERE id = $1",
        Raw::Postgres(_) => "SELECT tx_id::text::bigint AS tx, seq FROM events WHERE id = $1",
    };
    Ok(on_conn!(conn, |c| sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// Where a stream reads from: after `position` and, on PostgreSQL, past the events of
/// transactions that had committed when the stream started (`started`, that moment's
/// `pg_snapshot`). A new stream cannot start at a position alone: one that committed
/// events may still be running (see [`list_events_after`]), and a position before its
/// events is also before every transaction that committed after it began.
#[derive(Debug, Clone, Default)]
pub struct StreamCursor {
    pub position: EventPosition,
    pub started: Option<String>,
}

/// A cursor past every event committed now (the start when there is none).
pub async fn cursor_now(conn: &mut Conn) -> StoreResult<StreamCursor> {
    let (position, started) = match conn.raw() {
        Raw::Sqlite(c) => {
            let found: Option<EventPosition> =
                sqlx::query_as("SELECT 0 AS tx, seq FROM events ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(c)
                    .await?;
            (found.unwrap_or_default(), None)
        }
        Raw::Postgres(c) => {
            let (started, tx, seq): (String, Option<i64>, Option<i64>) = sqlx::query_as(
                "WITH now AS (SELECT pg_current_snapshot() AS snapshot)
                 SELECT now.snapshot::text, last.tx, last.seq
                 FROM now LEFT JOIN LATERAL (
                     SELECT tx_id::text::bigint AS tx, seq FROM events
                     WHERE tx_id < pg_snapshot_xmin(now.snapshot) ORDER BY tx_id DESC, seq DESC LIMIT 1
                 ) last ON true",
            )
            .fetch_one(c)
            .await?;
            let position = EventPosition {
                tx: tx.unwrap_or_default(),
                seq: seq.unwrap_or_default(),
            };
            (position, Some(started))
        }
    };
    Ok(StreamCursor { position, started })
}

/// Whether the event `id` is still kept and a reader at `cursor` has yet to read it.
pub async fn is_unread(conn: &mut Conn, id: &str, cursor: &StreamCursor) -> StoreResult<bool> {
    let sql = match conn.raw() {
        Raw::Sqlite(_) => "SELECT EXISTS (SELECT 1 FROM events WHERE id = $1 AND $2 = 0 AND seq > $3 AND $4 IS NULL)",
        Raw::Postgres(_) => {
            "SELECT EXISTS (SELECT 1 FROM events WHERE id = $1 AND (tx_id, seq) > ($2::text::xid8, $3)
             AND ($4::text IS NULL OR NOT pg_visible_in_snapshot(tx_id, $4::text::pg_snapshot)))"
        }
    };
    Ok(on_conn!(conn, |c| sqlx::query_scalar(sql)
        .bind(id)
        .bind(cursor.position.tx)
        .bind(cursor.position.seq)
        .bind(cursor.started.as_deref())
        .fetch_one(c)
        .await)?)
}

/// Up to `limit` events after `cursor`, in commit order. On PostgreSQL only events of
/// transactions older than every transaction still running are read: one still running
/// may yet commit events that sort before those of a younger one that has committed, and a
/// reader that went past them would never see them.
pub async fn list_events_after(
    conn: &mut Conn,
    cursor: &StreamCursor,
    limit: i64,
) -> StoreResult<Vec<PositionedEventRow>> {
    let sql = match conn.raw() {
        Raw::Sqlite(_) => {
            "SELECT id, type, subject_id, data, created_at, 0 AS tx, seq FROM events
             WHERE seq > $2 AND $1 = 0 AND $4 IS NULL ORDER BY seq LIMIT $3"
        }
        Raw::Postgres(_) => {
            "SELECT id, type, subject_id, data, created_at, tx_id::text::bigint AS tx, seq FROM events
             WHERE (tx_id, seq) > ($1::text::xid8, $2) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
             AND ($4::text IS NULL OR NOT pg_visible_in_snapshot(tx_id, $4::text::pg_snapshot))
             ORDER BY tx_id, seq LIMIT $3"
        }
    };
    Ok(on_conn!(conn, |c| sqlx::query_as(sql)
        .bind(cursor.position.tx)
        .bind(cursor.position.seq)
        .bind(limit)
        .bind(cursor.started.as_deref())
        .fetch_all(c)
        .await)?)
}
