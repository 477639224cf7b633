//! The shop's settings: one row.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShopRow {
    pub name: String,
    pub default_currency: String,
    /// JSON array of ISO 4217 codes.
    pub currencies: String,
    pub prices_include_tax: bool,
    pub low_stock_threshold: i64,
    pub updated_at: i64,
}

pub async fn get_shop(conn: &mut Conn) -> StoreResult<ShopRow> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT name, default_currency, currencies, prices_include_tax, low_stock_threshold, updated_at
             FROM shop_settings WHERE id = 1",
        )
        .fetch_one(c)
        .await
    })?)
}

pub async fn update_shop(conn: &mut Conn, row: &ShopRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE shop_settings
             SET name = $1, default_currency = $2, currencies = $3, prices_include_tax = $4, updated_at = $5,
                 low_stock_threshold = $6
             WHERE id = 1",
        )
        .bind(&row.name)
        .bind(&row.default_currency)
        .bind(&row.currencies)
        .bind(row.prices_include_tax)
        .bind(row.updated_at)
        .bind(row.low_stock_threshold)
    )?;
    Ok(())
}
