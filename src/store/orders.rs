//! Orders and their items.

use super::payments::RefundRow;
use super::{Conn, Raw, StoreResult};
use crate::{exec, on_conn};

/// An order with its payment's state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: String,
    pub number: i64,
    pub customer_id: Option<String>,
    pub email: String,
    pub status: String,
    pub currency: String,
    pub subtotal_amount: i64,
    pub discount_total_amount: i64,
    pub shipping_total_amount: i64,
    pub tax_total_amount: i64,
    pub total_amount: i64,
    pub payment_id: String,
    pub shipping_address: String,
    pub tracking_number: Option<String>,
    pub guest_token_hash: Option<String>,
    /// JSON `{id, name, amount}` of the shipping option charged, if any.
    pub shipping_option: Option<String>,
    /// JSON `[{name, rate_bps, amount}]`.
    pub tax_lines: String,
    /// JSON `[{discount_id, code, description, amount}]`.
    pub discounts: String,
    pub prices_include_tax: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub payment_status: String,
    pub payment_amount: i64,
    pub payment_refunded_amount: i64,
    pub payment_provider: String,
    /// The provider's id of the charge.
    pub payment_reference: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderItemRow {
    pub id: String,
    pub order_id: String,
    pub position: i64,
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_amount: i64,
    pub line_total_amount: i64,
    pub discount_total_amount: i64,
    pub tax_total_amount: i64,
}

#[derive(Debug, Clone)]
pub struct OrderFilter<'a> {
    pub customer_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub before_id: Option<&'a str>,
    pub limit: i64,
}

macro_rules! order_select {
    () => {
        "SELECT o.id, o.number, o.customer_id, o.email, o.status, o.currency, o.subtotal_amount,
                o.discount_total_amount, o.shipping_total_amount, o.tax_total_amount, o.total_amount,
                o.payment_id, o.shipping_address, o.tracking_number, o.guest_token_hash, o.shipping_option,
                o.tax_lines, o.discounts, o.prices_include_tax, o.created_at, o.updated_at, p.status AS payment_status, p.amount AS payment_amount,
                p.refunded_amount AS payment_refunded_amount, p.provider AS payment_provider,
                p.provider_reference AS payment_reference
         FROM orders o JOIN payments p ON p.id = o.payment_id "
    };
}

/// The ids of one page of orders; shared by the order and item queries (no N+1).
macro_rules! order_page {
    () => {
        "SELECT id FROM orders
         WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4"
    };
}

pub async fn find_order(conn: &mut Conn, id: &str) -> StoreResult<Option<OrderRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(order_select!(), "WHERE o.id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn list_order_items(conn: &mut Conn, order_id: &str) -> StoreResult<Vec<OrderItemRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, order_id, position, variant_id, sku, title, quantity, unit_price_amount, line_total_amount,
                    discount_total_amount, tax_total_amount
             FROM order_items WHERE order_id = $1 ORDER BY position",
        )
        .bind(order_id)
        .fetch_all(c)
        .await
    })?)
}

/// One page of orders with their items and refunds, in three queries whatever the page size.
pub async fn list_orders(
    conn: &mut Conn,
    filter: &OrderFilter<'_>,
) -> StoreResult<(Vec<OrderRow>, Vec<OrderItemRow>, Vec<RefundRow>)> {
    let orders = on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            order_select!(),
            "WHERE o.id IN (",
            order_page!(),
            ") ORDER BY o.id DESC"
        ))
        .bind(filter.customer_id)
        .bind(filter.status)
        .bind(filter.before_id)
        .bind(filter.limit)
        .fetch_all(c)
        .await
    })?;
    let items = on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT id, order_id, position, variant_id, sku, title, quantity, unit_price_amount, line_total_amount,
                    discount_total_amount, tax_total_amount
             FROM order_items WHERE order_id IN (",
            order_page!(),
            ") ORDER BY order_id, position"
        ))
        .bind(filter.customer_id)
        .bind(filter.status)
        .bind(filter.before_id)
        .bind(filter.limit)
        .fetch_all(c)
        .await
    })?;
    let refunds = on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT r.id, r.payment_id, r.amount, r.status, r.created_at
             FROM refunds r JOIN orders o ON o.payment_id = r.payment_id WHERE o.id IN (",
            order_page!(),
            ") ORDER BY r.created_at, r.id"
        ))
        .bind(filter.customer_id)
        .bind(filter.status)
        .bind(filter.before_id)
        .bind(filter.limit)
        .fetch_all(c)
        .await
    })?;
    Ok((orders, items, refunds))
}

/// The next order's number: on PostgreSQL from a sequence, which locks nothing (migration
/// 0020), on SQLite from the counter row, taken by its one writer.
pub async fn next_order_number(conn: &mut Conn) -> StoreResult<i64> {
    Ok(match conn.raw() {
        Raw::Postgres(c) => {
            sqlx::query_scalar("SELECT nextval('order_numbers')")
                .fetch_one(c)
                .await?
        }
        Raw::Sqlite(c) => {
            sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'order_number' RETURNING value")
                .fetch_one(c)
                .await?
        }
    })
}

pub async fn insert_order(conn: &mut Conn, row: &OrderRow) -> StoreResult<()> {
    exec!(conn, sqlx::query(
            "INSERT INTO orders (id, number, customer_id, email, status, currency, subtotal_amount, discount_total_amount,
                                 shipping_total_amount, tax_total_amount, total_amount, payment_id, shipping_address,
                                 tracking_number, guest_token_hash, shipping_option, tax_lines, prices_include_tax,
                                 created_at, updated_at, discounts)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(&row.id)
        .bind(row.number)
        .bind(&row.customer_id)
        .bind(&row.email)
        .bind(&row.status)
        .bind(&row.currency)
        .bind(row.subtotal_amount)
        .bind(row.discount_total_amount)
        .bind(row.shipping_total_amount)
        .bind(row.tax_total_amount)
        .bind(row.total_amount)
        .bind(&row.payment_id)
        .bind(&row.shipping_address)
        .bind(&row.tracking_number)
        .bind(&row.guest_token_hash)
        .bind(&row.shipping_option)
        .bind(&row.tax_lines)
        .bind(row.prices_include_tax)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(&row.discounts))?;
    Ok(())
}

pub async fn insert_order_item(conn: &mut Conn, row: &OrderItemRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO order_items (id, order_id, position, variant_id, sku, title, quantity, unit_price_amount,
                                      line_total_amount, discount_total_amount, tax_total_amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&row.id)
        .bind(&row.order_id)
        .bind(row.position)
        .bind(&row.variant_id)
        .bind(&row.sku)
        .bind(&row.title)
        .bind(row.quantity)
        .bind(row.unit_price_amount)
        .bind(row.line_total_amount)
        .bind(row.discount_total_amount)
        .bind(row.tax_total_amount)
    )?;
    Ok(())
}

/// Moves an order from status `from` to `to`; false when it was not in `from` (a
/// concurrent transition won), so each transition happens once.
pub async fn transition_order(
    conn: &mut Conn,
    id: &str,
    from: &str,
    to: &str,
    tracking_number: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "UPDATE orders SET status = $3, tracking_number = COALESCE($4, tracking_number), updated_at = $5
             WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(tracking_number)
        .bind(now)
    )?;
    Ok(result == 1)
}

pub async fn touch_order(conn: &mut Conn, id: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE orders SET updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
    )?;
    Ok(())
}
