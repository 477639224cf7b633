//! Carts and their lines.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CartRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub currency: String,
    pub status: String,
    pub version: i64,
    pub order_id: Option<String>,
    pub email: Option<String>,
    /// JSON of the address.
    pub shipping_address: Option<String>,
    pub shipping_option_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A cart line with the variant's current price in the cart's currency and its names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CartLineRow {
    pub id: String,
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub variant_title: String,
    pub product_title: String,
    pub product_status: String,
    pub quantity: i64,
    /// `None` where the variant is no longer sold in the cart's currency.
    pub price_amount: Option<i64>,
    pub weight_grams: i64,
    pub tax_class: String,
    /// The price when the customer last saw the cart (see migration 0007).
    pub seen_price_amount: Option<i64>,
    /// Units of the variant that can be bought now.
    pub available: i64,
}

pub async fn insert_cart(conn: &mut Conn, row: &CartRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO carts (id, customer_id, currency, status, version, order_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.customer_id)
        .bind(&row.currency)
        .bind(&row.status)
        .bind(row.version)
        .bind(&row.order_id)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

macro_rules! cart_columns {
    () => {
        "id, customer_id, currency, status, version, order_id, email, shipping_address, shipping_option_id,
         created_at, updated_at"
    };
}

pub async fn find_cart(conn: &mut Conn, id: &str) -> StoreResult<Option<CartRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!("SELECT ", cart_columns!(), " FROM carts WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The cart's lines, each priced in the cart's currency (see [`crate::variant_price_in`]).
pub async fn list_cart_lines(conn: &mut Conn, cart_id: &str) -> StoreResult<Vec<CartLineRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT ci.id, ci.variant_id, v.product_id, v.sku, v.title AS variant_title, p.title AS product_title,
                    p.status AS product_status, ci.quantity, ",
            crate::variant_price_in!("ca.currency"),
            " AS price_amount, v.weight_grams, p.tax_class, ci.seen_price_amount,
                    CASE WHEN v.on_hand > v.reserved THEN v.on_hand - v.reserved ELSE 0 END AS available
             FROM cart_items ci
             JOIN carts ca ON ca.id = ci.cart_id
             JOIN variants v ON v.id = ci.variant_id
             JOIN products p ON p.id = v.product_id
             LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ca.currency
             WHERE ci.cart_id = $1
             ORDER BY ci.id"
        ))
        .bind(cart_id)
        .fetch_all(c)
        .await
    })?)
}

/// `(product, category)` of every product the cart's lines are of.
pub async fn list_line_categories(conn: &mut Conn, cart_id: &str) -> StoreResult<Vec<(String, String)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT DISTINCT pc.product_id, pc.category_id
             FROM cart_items ci
             JOIN variants v ON v.id = ci.variant_id
             JOIN product_categories pc ON pc.product_id = v.product_id
             WHERE ci.cart_id = $1",
        )
        .bind(cart_id)
        .fetch_all(c)
        .await
    })?)
}

/// Bumps the version of an open cart and returns it as locked; `None` when it is not open.
/// Done first in every cart edit: on PostgreSQL the row lock it takes serializes
/// concurrent edits of one cart, and the row returned is the one a concurrent edit that
/// committed meanwhile left.
pub async fn touch_open_cart(conn: &mut Conn, cart_id: &str, now: i64) -> StoreResult<Option<CartRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "UPDATE carts SET version = version + 1, updated_at = $2 WHERE id = $1 AND status = 'open' RETURNING ",
            cart_columns!()
        ))
        .bind(cart_id)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// Adds `quantity` to the cart's line for `variant_id`, creating the line when missing.
pub async fn add_to_line(
    conn: &mut Conn,
    item_id: &str,
    cart_id: &str,
    variant_id: &str,
    quantity: i64,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity",
        )
        .bind(item_id)
        .bind(cart_id)
        .bind(variant_id)
        .bind(quantity)
        .bind(now)
    )?;
    Ok(())
}

/// Sets a line's quantity; false when the line is not in the cart.
pub async fn set_line_quantity(conn: &mut Conn, cart_id: &str, item_id: &str, quantity: i64) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query("UPDATE cart_items SET quantity = $3 WHERE cart_id = $1 AND id = $2")
            .bind(cart_id)
            .bind(item_id)
            .bind(quantity)
    )?;
    Ok(result == 1)
}

/// Removes a line; false when the line is not in the cart.
pub async fn delete_line(conn: &mut Conn, cart_id: &str, item_id: &str) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query("DELETE FROM cart_items WHERE cart_id = $1 AND id = $2")
            .bind(cart_id)
            .bind(item_id)
    )?;
    Ok(result == 1)
}

/// Records every line's current price as seen by the customer: done by each change of the
/// cart, whose answer shows them. A line with no price in the cart's currency keeps the one
/// last seen, so that a price put back later is announced before it is charged.
pub async fn acknowledge_prices(conn: &mut Conn, cart_id: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(concat!(
            "UPDATE cart_items SET seen_price_amount = COALESCE((
                 SELECT ",
            crate::variant_price_in!("ca.currency"),
            " FROM carts ca
                 JOIN variants v ON v.id = cart_items.variant_id
                 LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = ca.currency
                 WHERE ca.id = cart_items.cart_id), seen_price_amount)
             WHERE cart_id = $1"
        ))
        .bind(cart_id)
    )?;
    Ok(())
}

/// Records `amount` as the price the customer has seen for the cart line `item_id`.
pub async fn set_seen_price(conn: &mut Conn, item_id: &str, amount: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE cart_items SET seen_price_amount = $2 WHERE id = $1")
            .bind(item_id)
            .bind(amount)
    )?;
    Ok(())
}

/// Sets who the cart is for and where it ships (an open cart; the caller bumped its
/// version with [`touch_open_cart`]).
pub async fn set_cart_details(
    conn: &mut Conn,
    cart_id: &str,
    email: Option<&str>,
    shipping_address: Option<&str>,
    shipping_option_id: Option<&str>,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE carts SET email = $2, shipping_address = $3, shipping_option_id = $4 WHERE id = $1")
            .bind(cart_id)
            .bind(email)
            .bind(shipping_address)
            .bind(shipping_option_id)
    )?;
    Ok(())
}

pub async fn set_cart_currency(conn: &mut Conn, cart_id: &str, currency: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE carts SET currency = $2 WHERE id = $1")
            .bind(cart_id)
            .bind(currency)
    )?;
    Ok(())
}

/// Moves a cart from status `from` to `to` and returns it as moved; `None` when it was not
/// in `from`.
pub async fn set_cart_status(
    conn: &mut Conn,
    cart_id: &str,
    from: &str,
    to: &str,
    order_id: Option<&str>,
    now: i64,
) -> StoreResult<Option<CartRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "UPDATE carts SET status = $3, order_id = COALESCE($4, order_id), version = version + 1, updated_at = $5
             WHERE id = $1 AND status = $2 RETURNING ",
            cart_columns!()
        ))
        .bind(cart_id)
        .bind(from)
        .bind(to)
        .bind(order_id)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// The customer's most recently changed open cart in `currency`.
pub async fn find_newest_open_cart(conn: &mut Conn, customer_id: &str, currency: &str) -> StoreResult<Option<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT id FROM carts WHERE customer_id = $1 AND currency = $2 AND status = 'open'
             ORDER BY updated_at DESC, id DESC LIMIT 1",
        )
        .bind(customer_id)
        .bind(currency)
        .fetch_optional(c)
        .await
    })?)
}

/// Gives a guest cart to a customer; false unless it is an open guest cart.
pub async fn claim_guest_cart(conn: &mut Conn, cart_id: &str, customer_id: &str, now: i64) -> StoreResult<bool> {
    let claimed = exec!(
        conn,
        sqlx::query(
            "UPDATE carts SET customer_id = $2, version = version + 1, updated_at = $3
             WHERE id = $1 AND customer_id IS NULL AND status = 'open'",
        )
        .bind(cart_id)
        .bind(customer_id)
        .bind(now)
    )?;
    Ok(claimed == 1)
}

/// Like [`add_to_line`], but a line that would pass `max_quantity` stops at it.
pub async fn add_to_line_up_to(
    conn: &mut Conn,
    item_id: &str,
    cart_id: &str,
    variant_id: &str,
    quantity: i64,
    max_quantity: i64,
    now: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity =
                 CASE WHEN cart_items.quantity + excluded.quantity > $6 THEN $6
                      ELSE cart_items.quantity + excluded.quantity END",
        )
        .bind(item_id)
        .bind(cart_id)
        .bind(variant_id)
        .bind(quantity)
        .bind(now)
        .bind(max_quantity)
    )?;
    Ok(())
}

/// Takes every line and discount code off a cart.
pub async fn empty_cart(conn: &mut Conn, cart_id: &str) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM cart_items WHERE cart_id = $1").bind(cart_id)
    )?;
    exec!(
        conn,
        sqlx::query("DELETE FROM cart_discounts WHERE cart_id = $1").bind(cart_id)
    )?;
    Ok(())
}
