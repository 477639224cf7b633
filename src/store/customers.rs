//! Customers, staff, their sessions and their password reset tokens.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy)]
pub enum SessionOwner<'a> {
    Customer(&'a str),
    Staff(&'a str),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionPrincipalRow {
    pub customer_id: Option<String>,
    pub staff_id: Option<String>,
    pub email: String,
    pub role: Option<String>,
    pub last_seen_at: i64,
}

pub async fn insert_customer(conn: &mut Conn, row: &CustomerRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO customers (id, email, name, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&row.id)
        .bind(&row.email)
        .bind(&row.name)
        .bind(&row.password_hash)
        .bind(row.created_at)
    )?;
    Ok(())
}

pub async fn find_customer_by_email(conn: &mut Conn, email: &str) -> StoreResult<Option<CustomerRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM customers WHERE email = $1")
            .bind(email)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn find_customer(conn: &mut Conn, id: &str) -> StoreResult<Option<CustomerRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Customers whose email or name contains `pattern` (a lower-cased LIKE pattern escaped
/// with `\`), newest first.
pub async fn search_customers(conn: &mut Conn, pattern: &str, limit: i64) -> StoreResult<Vec<CustomerRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at FROM customers
             WHERE email LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\'
             ORDER BY id DESC LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

pub async fn insert_staff(conn: &mut Conn, row: &StaffRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO staff (id, email, name, role, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&row.id)
        .bind(&row.email)
        .bind(&row.name)
        .bind(&row.role)
        .bind(&row.password_hash)
        .bind(row.created_at)
    )?;
    Ok(())
}

pub async fn find_staff_by_email(conn: &mut Conn, email: &str) -> StoreResult<Option<StaffRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, email, name, role, password_hash, created_at FROM staff WHERE email = $1")
            .bind(email)
            .fetch_optional(c)
            .await
    })?)
}

/// When a new session ends: at `expires_at`, or after `idle_seconds` without use.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimes {
    pub created_at: i64,
    pub expires_at: i64,
    pub idle_seconds: i64,
}

pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    owner: SessionOwner<'_>,
    times: SessionTimes,
) -> StoreResult<()> {
    let (customer_id, staff_id) = match owner {
        SessionOwner::Customer(id) => (Some(id), None),
        SessionOwner::Staff(id) => (None, Some(id)),
    };
    exec!(conn, sqlx::query(
            "INSERT INTO sessions (token_hash, customer_id, staff_id, created_at, expires_at, last_seen_at, idle_seconds)
             VALUES ($1, $2, $3, $4, $5, $4, $6)",
        )
        .bind(token_hash)
        .bind(customer_id)
        .bind(staff_id)
        .bind(times.created_at)
        .bind(times.expires_at)
        .bind(times.idle_seconds))?;
    Ok(())
}

pub async fn find_session_principal(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<SessionPrincipalRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.customer_id, s.staff_id, COALESCE(cu.email, st.email) AS email, st.role, s.last_seen_at
             FROM sessions s
             LEFT JOIN customers cu ON cu.id = s.customer_id
             LEFT JOIN staff st ON st.id = s.staff_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at + s.idle_seconds * 1000000 > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash)
    )?;
    Ok(())
}

/// Records that a session was used now (it keeps it from going idle).
pub async fn touch_session(conn: &mut Conn, token_hash: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now)
    )?;
    Ok(())
}

/// Deletes every session of `owner`, except the one of `keep_token_hash` when given.
pub async fn delete_sessions_of(
    conn: &mut Conn,
    owner: SessionOwner<'_>,
    keep_token_hash: Option<&str>,
) -> StoreResult<u64> {
    let (customer_id, staff_id) = match owner {
        SessionOwner::Customer(id) => (Some(id), None),
        SessionOwner::Staff(id) => (None, Some(id)),
    };
    Ok(exec!(
        conn,
        sqlx::query(
            "DELETE FROM sessions
             WHERE (customer_id = $1 OR staff_id = $2) AND ($3 IS NULL OR token_hash <> $3)",
        )
        .bind(customer_id)
        .bind(staff_id)
        .bind(keep_token_hash)
    )?)
}

pub async fn delete_expired_sessions(conn: &mut Conn, now: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_seconds * 1000000 <= $1")
            .bind(now)
    )?)
}

pub async fn update_customer_password(conn: &mut Conn, id: &str, password_hash: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE customers SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .bind(now)
    )?;
    Ok(())
}

pub async fn update_staff_password(conn: &mut Conn, id: &str, password_hash: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE staff SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .bind(now)
    )?;
    Ok(())
}

pub async fn find_staff(conn: &mut Conn, id: &str) -> StoreResult<Option<StaffRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, email, name, role, password_hash, created_at FROM staff WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Failed logins for `email` and from `client_ip` since `since`, and the oldest of each.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct FailureCounts {
    pub by_email: i64,
    pub oldest_by_email: Option<i64>,
    pub by_client: i64,
    pub oldest_by_client: Option<i64>,
}

pub async fn count_login_failures(
    conn: &mut Conn,
    email: &str,
    client_ip: &str,
    since: i64,
) -> StoreResult<FailureCounts> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM login_failures WHERE email = $1 AND created_at > $3) AS by_email,
                (SELECT MIN(created_at) FROM login_failures WHERE email = $1 AND created_at > $3) AS oldest_by_email,
                (SELECT COUNT(*) FROM login_failures WHERE client_ip = $2 AND created_at > $3) AS by_client,
                (SELECT MIN(created_at) FROM login_failures WHERE client_ip = $2 AND created_at > $3) AS oldest_by_client",
        )
        .bind(email)
        .bind(client_ip)
        .bind(since)
        .fetch_one(c)
        .await
    })?)
}

pub async fn insert_login_failure(
    conn: &mut Conn,
    id: &str,
    email: &str,
    client_ip: &str,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("INSERT INTO login_failures (id, email, client_ip, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(email)
            .bind(client_ip)
            .bind(now)
    )?;
    Ok(())
}

pub async fn clear_login_failures(conn: &mut Conn, email: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email)
    )?;
    Ok(())
}

pub async fn delete_login_failures_before(conn: &mut Conn, before: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM login_failures WHERE created_at < $1").bind(before)
    )?)
}

pub async fn insert_password_reset(
    conn: &mut Conn,
    token_hash: &str,
    account_kind: &str,
    account_id: &str,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO password_resets (token_hash, account_kind, account_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(account_kind)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
    )?;
    Ok(())
}

/// Uses a reset token: marks it used if it is live; returns the account it resets.
pub async fn use_password_reset(conn: &mut Conn, token_hash: &str, now: i64) -> StoreResult<Option<(String, String)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "UPDATE password_resets SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING account_kind, account_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// Ends every live reset token of an account (its password was just set).
pub async fn retire_password_resets(
    conn: &mut Conn,
    account_kind: &str,
    account_id: &str,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE password_resets SET used_at = $3 WHERE account_kind = $1 AND account_id = $2 AND used_at IS NULL",
        )
        .bind(account_kind)
        .bind(account_id)
        .bind(now)
    )?;
    Ok(())
}

/// Deletes reset tokens past their expiry.
pub async fn delete_expired_password_resets(conn: &mut Conn, now: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query("DELETE FROM password_resets WHERE expires_at < $1").bind(now)
    )?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddressRow {
    pub id: String,
    pub address: String,
    pub created_at: i64,
}

pub async fn list_addresses(conn: &mut Conn, customer_id: &str) -> StoreResult<Vec<AddressRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, address, created_at FROM customer_addresses WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id)
            .fetch_all(c)
            .await
    })?)
}

/// Locks the customer's row for the rest of the transaction (on PostgreSQL; SQLite's write
/// transactions are serialised already), so that checks of what they own hold until commit.
pub async fn lock_customer(conn: &mut Conn, customer_id: &str) -> StoreResult<bool> {
    let changed = exec!(
        conn,
        sqlx::query("UPDATE customers SET updated_at = updated_at WHERE id = $1").bind(customer_id)
    )?;
    Ok(changed == 1)
}

pub async fn insert_address(conn: &mut Conn, customer_id: &str, row: &AddressRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("INSERT INTO customer_addresses (id, customer_id, address, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&row.id)
            .bind(customer_id)
            .bind(&row.address)
            .bind(row.created_at)
    )?;
    Ok(())
}

/// Deletes one of the customer's addresses; false when they have no such address.
pub async fn delete_address(conn: &mut Conn, customer_id: &str, id: &str) -> StoreResult<bool> {
    let deleted = exec!(
        conn,
        sqlx::query("DELETE FROM customer_addresses WHERE customer_id = $1 AND id = $2")
            .bind(customer_id)
            .bind(id)
    )?;
    Ok(deleted == 1)
}
