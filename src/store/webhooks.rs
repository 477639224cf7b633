//! Merchant webhooks: endpoints, the deliveries of events to them, and each delivery's
//! attempts (see `domain::webhooks` for the rules).

use super::{Conn, StoreResult, dialect};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON array of event types, or `["*"]`.
    pub event_types: String,
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub started_at: i64,
    pub duration_ms: i64,
    pub response_status: Option<i64>,
    pub response_body: String,
    pub error: Option<String>,
}

macro_rules! endpoint_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, url, description, event_types, secret, enabled, disabled_reason, failing_since, created_at, updated_at
             FROM webhook_endpoints ",
            $rest
        )
    };
}

macro_rules! delivery_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, endpoint_id, event_id, event_type, status, attempts, response_status, next_attempt_at, created_at
             FROM webhook_deliveries ",
            $rest
        )
    };
}

pub async fn insert_endpoint(conn: &mut Conn, row: &EndpointRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO webhook_endpoints
                 (id, url, description, event_types, secret, enabled, disabled_reason, failing_since, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.event_types)
        .bind(&row.secret)
        .bind(row.enabled)
        .bind(&row.disabled_reason)
        .bind(row.failing_since)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn update_endpoint(conn: &mut Conn, row: &EndpointRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE webhook_endpoints
             SET url = $2, description = $3, event_types = $4, enabled = $5, disabled_reason = $6,
                 failing_since = $7, updated_at = $8
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.event_types)
        .bind(row.enabled)
        .bind(&row.disabled_reason)
        .bind(row.failing_since)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn find_endpoint(conn: &mut Conn, id: &str) -> StoreResult<Option<EndpointRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(endpoint_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Endpoints newest first, before the endpoint `before_id`.
pub async fn list_endpoints(conn: &mut Conn, before_id: Option<&str>, limit: i64) -> StoreResult<Vec<EndpointRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(endpoint_select!(
            "WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// The enabled endpoints, with the event types each wants.
pub async fn list_enabled_endpoints(conn: &mut Conn) -> StoreResult<Vec<(String, String)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, event_types FROM webhook_endpoints WHERE enabled ORDER BY id")
            .fetch_all(c)
            .await
    })?)
}

/// Deletes an endpoint with its deliveries; false when there was none.
pub async fn delete_endpoint(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id)
    )? > 0)
}

/// Notes a failed delivery: the endpoint has been failing since now, unless since earlier.
/// Returns since when.
pub async fn mark_endpoint_failing(conn: &mut Conn, id: &str, now: i64) -> StoreResult<i64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1
             RETURNING failing_since",
        )
        .bind(id)
        .bind(now)
        .fetch_one(c)
        .await
    })?)
}

pub async fn mark_endpoint_working(conn: &mut Conn, id: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
            .bind(id)
    )?;
    Ok(())
}

/// Disables an enabled endpoint with `reason`; false when it was disabled already.
pub async fn disable_endpoint(conn: &mut Conn, id: &str, reason: &str, now: i64) -> StoreResult<bool> {
    Ok(exec!(
        conn,
        sqlx::query(
            "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3
             WHERE id = $1 AND enabled"
        )
        .bind(id)
        .bind(reason)
        .bind(now)
    )? > 0)
}

pub async fn insert_delivery(
    conn: &mut Conn,
    id: &str,
    endpoint_id: &str,
    event_id: &str,
    event_type: &str,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO webhook_deliveries
                 (id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)",
        )
        .bind(id)
        .bind(endpoint_id)
        .bind(event_id)
        .bind(event_type)
        .bind(now)
    )?;
    Ok(())
}

/// An endpoint's deliveries newest first, before the delivery `before_id`.
pub async fn list_deliveries(
    conn: &mut Conn,
    endpoint_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(delivery_select!(
            "WHERE endpoint_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(endpoint_id)
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

pub async fn find_delivery(conn: &mut Conn, endpoint_id: &str, id: &str) -> StoreResult<Option<DeliveryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(delivery_select!("WHERE id = $1 AND endpoint_id = $2"))
            .bind(id)
            .bind(endpoint_id)
            .fetch_optional(c)
            .await
    })?)
}

/// Claims up to `limit` due deliveries, the oldest first and one per endpoint, of enabled
/// endpoints that are not busy: each endpoint is marked busy and each delivery leased
/// until `lease_until` (and due again then, should its worker die), counted as an attempt.
pub async fn claim_due_deliveries(
    conn: &mut Conn,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let due = dialect::lock_due_deliveries(conn, now, limit * 4).await?;
    let mut claimed: Vec<DeliveryRow> = Vec::new();
    for delivery in due {
        let taken = claimed.iter().any(|other| other.endpoint_id == delivery.endpoint_id);
        if claimed.len() as i64 >= limit || taken {
            continue;
        }
        // Only one worker wins an endpoint: on PostgreSQL a second one waits for the
        // first's commit and then finds it busy.
        let won = exec!(
            conn,
            sqlx::query(
                "UPDATE webhook_endpoints SET busy_until = $2
                 WHERE id = $1 AND (busy_until IS NULL OR busy_until <= $3)"
            )
            .bind(&delivery.endpoint_id)
            .bind(lease_until)
            .bind(now)
        )?;
        if won == 0 {
            continue;
        }
        exec!(
            conn,
            sqlx::query(
                "UPDATE webhook_deliveries SET leased_until = $2, next_attempt_at = $2, attempts = attempts + 1
                 WHERE id = $1"
            )
            .bind(&delivery.id)
            .bind(lease_until)
        )?;
        claimed.push(DeliveryRow {
            attempts: delivery.attempts + 1,
            ..delivery
        });
    }
    Ok(claimed)
}

/// What ends a claim: the delivery's new `status`, its last answer, and when it is due
/// again (`None` once it is settled).
pub struct AttemptEnd<'a> {
    pub status: &'a str,
    pub response_status: Option<i64>,
    pub next_attempt_at: Option<i64>,
}

/// Ends the claim leased until `lease_until`, and the endpoint's busy mark; false when
/// the lease was over and another worker has the delivery now (nothing is changed then).
pub async fn finish_attempt(
    conn: &mut Conn,
    delivery: &DeliveryRow,
    lease_until: i64,
    end: &AttemptEnd<'_>,
    now: i64,
) -> StoreResult<bool> {
    let finished = exec!(
        conn,
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = $2, response_status = $3, next_attempt_at = $4, leased_until = NULL, updated_at = $5
             WHERE id = $1 AND leased_until = $6"
        )
        .bind(&delivery.id)
        .bind(end.status)
        .bind(end.response_status)
        .bind(end.next_attempt_at)
        .bind(now)
        .bind(lease_until)
    )?;
    free_endpoint(conn, &delivery.endpoint_id, lease_until).await?;
    Ok(finished > 0)
}

async fn free_endpoint(conn: &mut Conn, endpoint_id: &str, lease_until: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE webhook_endpoints SET busy_until = NULL WHERE id = $1 AND busy_until = $2")
            .bind(endpoint_id)
            .bind(lease_until)
    )?;
    Ok(())
}

/// Hands a claimed delivery back unattempted (its endpoint was disabled meanwhile).
pub async fn release_claim(conn: &mut Conn, delivery: &DeliveryRow, lease_until: i64, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE webhook_deliveries SET leased_until = NULL, next_attempt_at = $2, attempts = attempts - 1
             WHERE id = $1 AND status = 'pending' AND leased_until = $3"
        )
        .bind(&delivery.id)
        .bind(now)
        .bind(lease_until)
    )?;
    free_endpoint(conn, &delivery.endpoint_id, lease_until).await
}

/// When a delivery was first attempted.
pub async fn find_first_attempt(conn: &mut Conn, delivery_id: &str) -> StoreResult<Option<i64>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT MIN(started_at) FROM webhook_attempts WHERE delivery_id = $1")
            .bind(delivery_id)
            .fetch_one(c)
            .await
    })?)
}

/// Makes a delivery due now, unless a worker is sending it (false then).
pub async fn schedule_now(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    Ok(exec!(
        conn,
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2
             WHERE id = $1 AND (status <> 'pending' OR leased_until IS NULL)"
        )
        .bind(id)
        .bind(now)
    )? > 0)
}

pub async fn insert_attempt(conn: &mut Conn, row: &AttemptRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, started_at, duration_ms, response_status, response_body, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.delivery_id)
        .bind(row.started_at)
        .bind(row.duration_ms)
        .bind(row.response_status)
        .bind(&row.response_body)
        .bind(&row.error)
    )?;
    Ok(())
}

/// A delivery's attempts, oldest first.
pub async fn list_attempts(conn: &mut Conn, delivery_id: &str) -> StoreResult<Vec<AttemptRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, delivery_id, started_at, duration_ms, response_status, response_body, error
             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY started_at, id",
        )
        .bind(delivery_id)
        .fetch_all(c)
        .await
    })?)
}

/// The admins' addresses, to tell them an endpoint was disabled.
pub async fn list_admin_emails(conn: &mut Conn) -> StoreResult<Vec<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT email FROM staff WHERE role = 'admin' ORDER BY email")
            .fetch_all(c)
            .await
    })?)
}

/// When the next pending delivery of an enabled endpoint is due (a lease's end included).
pub async fn find_next_due(conn: &mut Conn) -> StoreResult<Option<i64>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.status = 'pending' AND e.enabled",
        )
        .fetch_one(c)
        .await
    })?)
}
