//! Stock levels: every change of a variant's `on_hand` and `reserved` goes through
//! [`move_stock`], one conditional write (see `domain::inventory` for the rules).

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

/// Changes a variant's stock by `on_hand_delta` and `reserved_delta` in one conditional
/// write, unless that would break `0 <= reserved <= on_hand <= max_on_hand`; the
/// affected-row count decides, so no concurrent change can slip in between a read and a
/// write. Returns the variant's new stock (with the shop's low-stock threshold, which the
/// caller compares it with), or `None` when refused or missing.
pub async fn move_stock(
    conn: &mut Conn,
    variant_id: &str,
    on_hand_delta: i64,
    reserved_delta: i64,
    max_on_hand: i64,
    now: i64,
) -> StoreResult<Option<MovedStock>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "UPDATE variants SET on_hand = on_hand + $2, reserved = reserved + $3, updated_at = $4
             WHERE id = $1 AND reserved + $3 >= 0 AND on_hand + $2 >= reserved + $3 AND on_hand + $2 <= $5
             RETURNING on_hand, reserved, product_id, sku,
                       (SELECT low_stock_threshold FROM shop_settings WHERE id = 1) AS low_stock_threshold",
        )
        .bind(variant_id)
        .bind(on_hand_delta)
        .bind(reserved_delta)
        .bind(now)
        .bind(max_on_hand)
        .fetch_optional(c)
        .await
    })?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovedStock {
    pub on_hand: i64,
    pub reserved: i64,
    pub product_id: String,
    pub sku: String,
    pub low_stock_threshold: i64,
}

pub async fn find_stock(conn: &mut Conn, variant_id: &str) -> StoreResult<Option<(i64, i64)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT on_hand, reserved FROM variants WHERE id = $1")
            .bind(variant_id)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn insert_adjustment(
    conn: &mut Conn,
    id: &str,
    variant_id: &str,
    delta: i64,
    reason: &str,
    staff_id: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO inventory_adjustments (id, variant_id, delta, reason, staff_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(variant_id)
        .bind(delta)
        .bind(reason)
        .bind(staff_id)
        .bind(now)
    )?;
    Ok(())
}
