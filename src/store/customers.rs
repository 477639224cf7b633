//! Customers, staff and their sessions.

use super::{Conn, StoreResult};
use crate::on_conn;

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
}

pub async fn insert_customer(conn: &mut Conn, row: &CustomerRow) -> StoreResult<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO customers (id, email, name, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&row.id)
        .bind(&row.email)
        .bind(&row.name)
        .bind(&row.password_hash)
        .bind(row.created_at)
        .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
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

pub async fn insert_staff(conn: &mut Conn, row: &StaffRow) -> StoreResult<()> {
    on_conn!(conn, |c| {
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
        .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
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

pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    owner: SessionOwner<'_>,
    created_at: i64,
    expires_at: i64,
) -> StoreResult<()> {
    let (customer_id, staff_id) = match owner {
        SessionOwner::Customer(id) => (Some(id), None),
        SessionOwner::Staff(id) => (None, Some(id)),
    };
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO sessions (token_hash, customer_id, staff_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(customer_id)
        .bind(staff_id)
        .bind(created_at)
        .bind(expires_at)
        .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn find_session_principal(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<SessionPrincipalRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.customer_id, s.staff_id, COALESCE(cu.email, st.email) AS email, st.role
             FROM sessions s
             LEFT JOIN customers cu ON cu.id = s.customer_id
             LEFT JOIN staff st ON st.id = s.staff_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> StoreResult<()> {
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}
