//! Discounts, the codes applied to carts, and the uses checkouts take.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscountRow {
    pub id: String,
    pub code: Option<String>,
    pub description: String,
    pub kind: String,
    pub percentage_bps: Option<i64>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub min_subtotal: Option<i64>,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub usage_limit: Option<i64>,
    pub usage_limit_per_customer: Option<i64>,
    /// JSON arrays of ids.
    pub product_ids: String,
    pub category_ids: String,
    pub combinable: bool,
    pub active: bool,
    pub times_used: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns of a [`DiscountRow`] from `discounts d`.
macro_rules! discount_columns {
    () => {
        "d.id, d.code, d.description, d.kind, d.percentage_bps, d.amount, d.currency, d.min_subtotal,
         d.starts_at, d.ends_at, d.usage_limit, d.usage_limit_per_customer, d.product_ids, d.category_ids,
         d.combinable, d.active, d.times_used, d.created_at, d.updated_at"
    };
}

macro_rules! discount_select {
    () => {
        concat!("SELECT ", discount_columns!(), " FROM discounts d ")
    };
}

/// The key codes are matched and kept unique by: case does not count.
pub fn code_key(code: &str) -> String {
    code.to_lowercase()
}

pub async fn insert_discount(conn: &mut Conn, row: &DiscountRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO discounts (id, code, code_key, description, kind, percentage_bps, amount, currency,
                                    min_subtotal, starts_at, ends_at, usage_limit, usage_limit_per_customer,
                                    product_ids, category_ids, combinable, active, times_used, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 0, $18, $19)",
        )
        .bind(&row.id)
        .bind(&row.code)
        .bind(row.code.as_deref().map(code_key))
        .bind(&row.description)
        .bind(&row.kind)
        .bind(row.percentage_bps)
        .bind(row.amount)
        .bind(&row.currency)
        .bind(row.min_subtotal)
        .bind(row.starts_at)
        .bind(row.ends_at)
        .bind(row.usage_limit)
        .bind(row.usage_limit_per_customer)
        .bind(&row.product_ids)
        .bind(&row.category_ids)
        .bind(row.combinable)
        .bind(row.active)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

/// Writes every field staff may change; `times_used` is the checkouts' alone.
pub async fn update_discount(conn: &mut Conn, row: &DiscountRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE discounts SET code = $2, code_key = $3, description = $4, kind = $5, percentage_bps = $6,
                 amount = $7, currency = $8, min_subtotal = $9, starts_at = $10, ends_at = $11, usage_limit = $12,
                 usage_limit_per_customer = $13, product_ids = $14, category_ids = $15, combinable = $16,
                 active = $17, updated_at = $18
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.code)
        .bind(row.code.as_deref().map(code_key))
        .bind(&row.description)
        .bind(&row.kind)
        .bind(row.percentage_bps)
        .bind(row.amount)
        .bind(&row.currency)
        .bind(row.min_subtotal)
        .bind(row.starts_at)
        .bind(row.ends_at)
        .bind(row.usage_limit)
        .bind(row.usage_limit_per_customer)
        .bind(&row.product_ids)
        .bind(&row.category_ids)
        .bind(row.combinable)
        .bind(row.active)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn find_discount(conn: &mut Conn, id: &str) -> StoreResult<Option<DiscountRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(discount_select!(), "WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn find_discount_by_code(conn: &mut Conn, code: &str) -> StoreResult<Option<DiscountRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(discount_select!(), "WHERE d.code_key = $1"))
            .bind(code_key(code))
            .fetch_optional(c)
            .await
    })?)
}

pub async fn list_discounts(conn: &mut Conn, before_id: Option<&str>, limit: i64) -> StoreResult<Vec<DiscountRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            discount_select!(),
            "WHERE ($1 IS NULL OR d.id < $1) ORDER BY d.id DESC LIMIT $2"
        ))
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Takes a discount off every cart that holds it (its code is gone: it is automatic now).
pub async fn remove_from_all_carts(conn: &mut Conn, discount_id: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM cart_discounts WHERE discount_id = $1").bind(discount_id)
    )?;
    Ok(())
}

/// Deletes a discount no checkout ever used, with the carts' hold on it; false when it was
/// used (or is missing).
pub async fn delete_unused_discount(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    exec!(
        conn,
        sqlx::query(
            "DELETE FROM cart_discounts WHERE discount_id = $1
               AND NOT EXISTS (SELECT 1 FROM discount_uses u WHERE u.discount_id = $1)"
        )
        .bind(id)
    )?;
    let deleted = exec!(
        conn,
        sqlx::query(
            "DELETE FROM discounts WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM discount_uses u WHERE u.discount_id = $1)"
        )
        .bind(id)
    )?;
    Ok(deleted == 1)
}

/// What a cart is offered, in one query: the codes it holds (in the order they were
/// added), then the automatic discounts running at `now` and not used up (used up too
/// with `even_used_up`, for a cart already checked out).
pub async fn list_offered(
    conn: &mut Conn,
    cart_id: &str,
    now: i64,
    even_used_up: bool,
) -> StoreResult<Vec<DiscountRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT * FROM (
                 SELECT ",
            discount_columns!(),
            ", 0 AS part, cd.added_at AS added_at
                 FROM discounts d JOIN cart_discounts cd ON cd.discount_id = d.id
                 WHERE cd.cart_id = $1 AND d.code IS NOT NULL
                 UNION ALL
                 SELECT ",
            discount_columns!(),
            ", 1 AS part, 0 AS added_at
                 FROM discounts d
                 WHERE d.code IS NULL AND d.active
                   AND (d.starts_at IS NULL OR d.starts_at <= $2) AND (d.ends_at IS NULL OR d.ends_at > $2)
                   AND ($3 OR d.usage_limit IS NULL OR d.times_used < d.usage_limit)
             ) offered ORDER BY part, added_at, id"
        ))
        .bind(cart_id)
        .bind(now)
        .bind(even_used_up)
        .fetch_all(c)
        .await
    })?)
}

pub async fn add_cart_discount(conn: &mut Conn, cart_id: &str, discount_id: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO cart_discounts (cart_id, discount_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(cart_id)
        .bind(discount_id)
        .bind(now)
    )?;
    Ok(())
}

/// False when the cart did not hold it.
pub async fn remove_cart_discount(conn: &mut Conn, cart_id: &str, discount_id: &str) -> StoreResult<bool> {
    let removed = exec!(
        conn,
        sqlx::query("DELETE FROM cart_discounts WHERE cart_id = $1 AND discount_id = $2")
            .bind(cart_id)
            .bind(discount_id)
    )?;
    Ok(removed == 1)
}

/// Takes one use of the discount if it is active and has one left: the conditional write
/// that makes concurrent checkouts unable to over-use it. On PostgreSQL it also locks the
/// discount's row until the transaction ends, which serialises the per-customer count in
/// [`record_use`] between checkouts of the same discount.
pub async fn take_use(conn: &mut Conn, discount_id: &str) -> StoreResult<bool> {
    let taken = exec!(
        conn,
        sqlx::query(
            "UPDATE discounts SET times_used = times_used + 1
             WHERE id = $1 AND active AND (usage_limit IS NULL OR times_used < usage_limit)"
        )
        .bind(discount_id)
    )?;
    Ok(taken == 1)
}

/// Whom a use counts against: an account, an email (lower-cased), or both.
#[derive(Debug, Clone, Copy)]
pub struct UseOwner<'a> {
    pub customer_id: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// Records the use `payment_id` took for `owner` (whose email a checkout always knows),
/// unless the customer, by account or by email, has used the discount `per_customer` times
/// already; false then. Run after [`take_use`] in the same transaction (see there).
pub async fn record_use(
    conn: &mut Conn,
    discount_id: &str,
    payment_id: &str,
    owner: UseOwner<'_>,
    amount: i64,
    per_customer: Option<i64>,
    now: i64,
) -> StoreResult<bool> {
    let recorded = exec!(
        conn,
        sqlx::query(
            "INSERT INTO discount_uses (discount_id, payment_id, order_id, customer_id, email, amount, created_at)
             SELECT $1, $2, NULL, $3, $4, $5, $6
             WHERE CAST($7 AS BIGINT) IS NULL
                OR (SELECT COUNT(*) FROM discount_uses
                    WHERE discount_id = $1 AND (customer_id = $3 OR email = $4)) < $7"
        )
        .bind(discount_id)
        .bind(payment_id)
        .bind(owner.customer_id)
        .bind(owner.email.unwrap_or_default())
        .bind(amount)
        .bind(now)
        .bind(per_customer)
    )?;
    Ok(recorded == 1)
}

/// How many uses `owner` holds of the discount, by account or by email (held by checkouts,
/// kept by orders).
pub async fn customer_uses(conn: &mut Conn, discount_id: &str, owner: UseOwner<'_>) -> StoreResult<i64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM discount_uses
             WHERE discount_id = $1 AND (customer_id = $2 OR email = $3)",
        )
        .bind(discount_id)
        .bind(owner.customer_id)
        .bind(owner.email)
        .fetch_one(c)
        .await
    })?)
}

/// Gives back every use a failed payment attempt held, discount by discount in the order of
/// their ids (the order checkouts take them in: see `domain::discounts::take_uses`).
pub async fn give_back_uses(conn: &mut Conn, payment_id: &str) -> StoreResult<()> {
    let held: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT discount_id FROM discount_uses WHERE payment_id = $1 ORDER BY discount_id")
            .bind(payment_id)
            .fetch_all(c)
            .await
    })?;
    for discount_id in held {
        exec!(
            conn,
            sqlx::query("UPDATE discounts SET times_used = times_used - 1 WHERE id = $1").bind(&discount_id)
        )?;
    }
    exec!(
        conn,
        sqlx::query("DELETE FROM discount_uses WHERE payment_id = $1").bind(payment_id)
    )?;
    Ok(())
}

/// The uses a paid attempt held now belong to its order.
pub async fn set_uses_order(conn: &mut Conn, payment_id: &str, order_id: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE discount_uses SET order_id = $2 WHERE payment_id = $1")
            .bind(payment_id)
            .bind(order_id)
    )?;
    Ok(())
}

/// An order that used a discount, by its id and number.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UseRow {
    pub discount_id: String,
    pub order_id: String,
    pub number: i64,
}

/// The newest `per_discount` orders of each discount on a page of [`list_discounts`].
pub async fn list_recent_use_orders(
    conn: &mut Conn,
    before_id: Option<&str>,
    limit: i64,
    per_discount: i64,
) -> StoreResult<Vec<UseRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT discount_id, order_id, number FROM (
                 SELECT u.discount_id, u.order_id, o.number,
                        ROW_NUMBER() OVER (PARTITION BY u.discount_id ORDER BY u.created_at DESC, u.order_id DESC) AS n
                 FROM discount_uses u JOIN orders o ON o.id = u.order_id
                 WHERE u.discount_id IN (
                     SELECT id FROM discounts WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2)
             ) recent
             WHERE n <= $3 ORDER BY discount_id, n",
        )
        .bind(before_id)
        .bind(limit)
        .bind(per_discount)
        .fetch_all(c)
        .await
    })?)
}

/// The orders that used the discount, newest first.
pub async fn list_use_orders(conn: &mut Conn, discount_id: &str, limit: i64) -> StoreResult<Vec<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT order_id FROM discount_uses WHERE discount_id = $1 AND order_id IS NOT NULL
             ORDER BY created_at DESC, order_id DESC LIMIT $2",
        )
        .bind(discount_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}
