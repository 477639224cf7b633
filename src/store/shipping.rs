//! Shipping options and tax rates.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShippingOptionRow {
    pub id: String,
    pub name: String,
    pub currency: String,
    /// JSON array of country codes.
    pub countries: String,
    /// JSON of the rate.
    pub rate: String,
    pub free_over: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaxRateRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub tax_class: String,
    pub rate_bps: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns of a [`ShippingOptionRow`], selected from `shipping_options`.
macro_rules! option_select {
    () => {
        "SELECT id, name, currency, countries, rate, free_over, created_at, updated_at FROM shipping_options "
    };
}

/// The columns of a [`TaxRateRow`], selected from `tax_rates`.
macro_rules! rate_select {
    () => {
        "SELECT id, name, country, region, tax_class, rate_bps, created_at, updated_at FROM tax_rates "
    };
}

pub async fn insert_shipping_option(conn: &mut Conn, row: &ShippingOptionRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO shipping_options (id, name, currency, countries, rate, free_over, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.currency)
        .bind(&row.countries)
        .bind(&row.rate)
        .bind(row.free_over)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn update_shipping_option(conn: &mut Conn, row: &ShippingOptionRow) -> StoreResult<bool> {
    let changed = exec!(
        conn,
        sqlx::query(
            "UPDATE shipping_options SET name = $2, currency = $3, countries = $4, rate = $5, free_over = $6,
                    updated_at = $7
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.currency)
        .bind(&row.countries)
        .bind(&row.rate)
        .bind(row.free_over)
        .bind(row.updated_at)
    )?;
    Ok(changed == 1)
}

pub async fn find_shipping_option(conn: &mut Conn, id: &str) -> StoreResult<Option<ShippingOptionRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(option_select!(), "WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Newest first, before `before_id` when given.
pub async fn list_shipping_options(
    conn: &mut Conn,
    before_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<ShippingOptionRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            option_select!(),
            "WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

pub async fn delete_shipping_option(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    Ok(exec!(conn, sqlx::query("DELETE FROM shipping_options WHERE id = $1").bind(id))? == 1)
}

pub async fn insert_tax_rate(conn: &mut Conn, row: &TaxRateRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO tax_rates (id, name, country, region, tax_class, rate_bps, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.country)
        .bind(&row.region)
        .bind(&row.tax_class)
        .bind(row.rate_bps)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn update_tax_rate(conn: &mut Conn, row: &TaxRateRow) -> StoreResult<bool> {
    let changed = exec!(
        conn,
        sqlx::query(
            "UPDATE tax_rates SET name = $2, country = $3, region = $4, tax_class = $5, rate_bps = $6, updated_at = $7
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.country)
        .bind(&row.region)
        .bind(&row.tax_class)
        .bind(row.rate_bps)
        .bind(row.updated_at)
    )?;
    Ok(changed == 1)
}

pub async fn find_tax_rate(conn: &mut Conn, id: &str) -> StoreResult<Option<TaxRateRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(rate_select!(), "WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Newest first, before `before_id` when given.
pub async fn list_tax_rates(conn: &mut Conn, before_id: Option<&str>, limit: i64) -> StoreResult<Vec<TaxRateRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            rate_select!(),
            "WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

pub async fn delete_tax_rate(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    Ok(exec!(conn, sqlx::query("DELETE FROM tax_rates WHERE id = $1").bind(id))? == 1)
}

/// The rates of `country` (every class, every region of it).
pub async fn list_tax_rates_of_country(conn: &mut Conn, country: &str) -> StoreResult<Vec<TaxRateRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(rate_select!(), "WHERE country = $1 ORDER BY id"))
            .bind(country)
            .fetch_all(c)
            .await
    })?)
}

/// Every shipping option in `currency` (a shop has a handful).
pub async fn list_shipping_options_in(conn: &mut Conn, currency: &str) -> StoreResult<Vec<ShippingOptionRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(option_select!(), "WHERE currency = $1 ORDER BY id"))
            .bind(currency)
            .fetch_all(c)
            .await
    })?)
}

/// Whether the shop has any shipping option at all (then checkout needs one).
pub async fn any_shipping_option(conn: &mut Conn) -> StoreResult<bool> {
    let count: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM shipping_options")
            .fetch_one(c)
            .await
    })?;
    Ok(count > 0)
}
