//! API keys, the staff list and the audit log.

use super::{Conn, StoreResult};
use crate::store::customers::StaffRow;
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_api_key(conn: &mut Conn, row: &ApiKeyRow, key_hash: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO api_keys (id, name, scopes, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.scopes)
        .bind(key_hash)
        .bind(&row.created_by)
        .bind(row.created_at)
    )?;
    Ok(())
}

/// A key that is not revoked, by the hash of its secret.
pub async fn find_live_api_key(conn: &mut Conn, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, name, scopes, created_by, created_at, last_used_at, revoked_at
             FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(c)
        .await
    })?)
}

pub async fn touch_api_key(conn: &mut Conn, id: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
    )?;
    Ok(())
}

pub async fn list_api_keys(conn: &mut Conn) -> StoreResult<Vec<ApiKeyRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, name, scopes, created_by, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id DESC",
        )
        .fetch_all(c)
        .await
    })?)
}

/// Revokes a key; false when there is no such live key.
pub async fn revoke_api_key(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let changed = exec!(
        conn,
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
    )?;
    Ok(changed == 1)
}

pub async fn list_staff(conn: &mut Conn) -> StoreResult<Vec<StaffRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, email, name, role, password_hash, created_at FROM staff ORDER BY id DESC")
            .fetch_all(c)
            .await
    })?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub actor_id: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    pub status: i64,
    pub client_ip: String,
    pub request_id: Option<String>,
    pub created_at: i64,
}

pub async fn insert_audit(conn: &mut Conn, row: &AuditRow) -> StoreResult<()> {
    exec!(conn, sqlx::query(
            "INSERT INTO audit_log (id, actor_id, actor_kind, action, target, status, client_ip, request_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&row.id)
        .bind(&row.actor_id)
        .bind(&row.actor_kind)
        .bind(&row.action)
        .bind(&row.target)
        .bind(row.status)
        .bind(&row.client_ip)
        .bind(&row.request_id)
        .bind(row.created_at))?;
    Ok(())
}

pub async fn list_audit(conn: &mut Conn, before_id: Option<&str>, limit: i64) -> StoreResult<Vec<AuditRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, actor_id, actor_kind, action, target, status, client_ip, request_id, created_at
             FROM audit_log WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}
