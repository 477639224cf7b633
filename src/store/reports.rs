//! Read-only figures for the staff dashboard: sales in a time window.

use super::{Conn, StoreResult};
use crate::on_conn;

/// Orders placed in one hour of the window, in one currency; canceled ones are not counted
/// (their revenue is refunded, so it nets to zero).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HourlySalesRow {
    /// Hours since the window's start.
    pub hour: i64,
    pub currency: String,
    pub orders: i64,
    /// Captured minus refunded, in minor units.
    pub revenue: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BestSellerRow {
    pub sku: String,
    pub title: String,
    pub currency: String,
    pub quantity: i64,
    pub revenue: i64,
}

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// Sales per hour in `[from, until)` (Unix microseconds). The sums are cast because
/// PostgreSQL sums BIGINT into NUMERIC.
pub async fn hourly_sales(conn: &mut Conn, from: i64, until: i64) -> StoreResult<Vec<HourlySalesRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT (o.created_at - $1) / $3 AS hour, o.currency,
                    CAST(SUM(CASE WHEN o.status <> 'canceled' THEN 1 ELSE 0 END) AS BIGINT) AS orders,
                    CAST(SUM(p.amount - p.refunded_amount) AS BIGINT) AS revenue
             FROM orders o JOIN payments p ON p.id = o.payment_id
             WHERE o.created_at >= $1 AND o.created_at < $2
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(from)
        .bind(until)
        .bind(MICROS_PER_HOUR)
        .fetch_all(c)
        .await
    })?)
}

/// The `limit` variants sold most (by units) in `[from, until)`, canceled orders left out.
pub async fn best_sellers(conn: &mut Conn, from: i64, until: i64, limit: i64) -> StoreResult<Vec<BestSellerRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT i.sku, MIN(i.title) AS title, o.currency,
                    CAST(SUM(i.quantity) AS BIGINT) AS quantity, CAST(SUM(i.line_total_amount) AS BIGINT) AS revenue
             FROM order_items i JOIN orders o ON o.id = i.order_id
             WHERE o.created_at >= $1 AND o.created_at < $2 AND o.status <> 'canceled'
             GROUP BY i.sku, o.currency ORDER BY 4 DESC, 1 LIMIT $3",
        )
        .bind(from)
        .bind(until)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}
