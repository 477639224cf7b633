//! Payment attempts, their reserved lines, refunds, and the stock movements of checkout.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: String,
    pub cart_id: String,
    pub customer_id: Option<String>,
    pub email: String,
    pub currency: String,
    pub amount: i64,
    pub refunded_amount: i64,
    pub status: String,
    pub payment_token: String,
    pub decline_code: Option<String>,
    pub provider_reference: Option<String>,
    pub shipping_address: String,
    pub idempotency_key: Option<String>,
    pub guest_token_hash: Option<String>,
    pub order_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    /// The priced cart, frozen at checkout (JSON); `None` for attempts made before it was kept.
    pub pricing: Option<String>,
    /// The provider that took it (`test`, `stripe`).
    pub provider: String,
    pub capture_method: String,
    /// What the customer's browser needs to finish an action (Stripe's client secret).
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentLineRow {
    pub payment_id: String,
    pub position: i64,
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_amount: i64,
}

macro_rules! payment_columns {
    () => {
        "id, cart_id, customer_id, email, currency, amount, refunded_amount, status, payment_token, decline_code,
         provider_reference, shipping_address, idempotency_key, guest_token_hash, order_id, created_at, updated_at,
         expires_at, pricing, provider, capture_method, client_secret"
    };
}

pub async fn insert_payment(conn: &mut Conn, row: &PaymentRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(concat!(
            "INSERT INTO payments (",
            payment_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        ))
        .bind(&row.id)
        .bind(&row.cart_id)
        .bind(&row.customer_id)
        .bind(&row.email)
        .bind(&row.currency)
        .bind(row.amount)
        .bind(row.refunded_amount)
        .bind(&row.status)
        .bind(&row.payment_token)
        .bind(&row.decline_code)
        .bind(&row.provider_reference)
        .bind(&row.shipping_address)
        .bind(&row.idempotency_key)
        .bind(&row.guest_token_hash)
        .bind(&row.order_id)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(row.expires_at)
        .bind(&row.pricing)
        .bind(&row.provider)
        .bind(&row.capture_method)
        .bind(&row.client_secret)
    )?;
    Ok(())
}

pub async fn insert_payment_line(conn: &mut Conn, row: &PaymentLineRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO payment_lines (payment_id, position, variant_id, sku, title, quantity, unit_price_amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.payment_id)
        .bind(row.position)
        .bind(&row.variant_id)
        .bind(&row.sku)
        .bind(&row.title)
        .bind(row.quantity)
        .bind(row.unit_price_amount)
    )?;
    Ok(())
}

pub async fn find_payment(conn: &mut Conn, id: &str) -> StoreResult<Option<PaymentRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!("SELECT ", payment_columns!(), " FROM payments WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The attempt made for `cart_id` under an idempotency key, if any.
pub async fn find_payment_by_key(conn: &mut Conn, cart_id: &str, key: &str) -> StoreResult<Option<PaymentRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE cart_id = $1 AND idempotency_key = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(cart_id)
        .bind(key)
        .fetch_optional(c)
        .await
    })?)
}

/// Unsettled attempts (`pending`, or waiting for the customer's action) of `provider`
/// whose time ran out before `now`, oldest first (for recovery).
pub async fn list_expired_unsettled(
    conn: &mut Conn,
    now: i64,
    provider: &str,
    limit: i64,
) -> StoreResult<Vec<PaymentRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE status IN ('pending', 'requires_action') AND expires_at < $1 AND provider = $2
             ORDER BY expires_at LIMIT $3"
        ))
        .bind(now)
        .bind(provider)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// The attempt the provider knows by `reference`.
pub async fn find_payment_by_reference(conn: &mut Conn, reference: &str) -> StoreResult<Option<PaymentRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE provider_reference = $1"
        ))
        .bind(reference)
        .fetch_optional(c)
        .await
    })?)
}

pub async fn list_payment_lines(conn: &mut Conn, payment_id: &str) -> StoreResult<Vec<PaymentLineRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT payment_id, position, variant_id, sku, title, quantity, unit_price_amount
             FROM payment_lines WHERE payment_id = $1 ORDER BY position",
        )
        .bind(payment_id)
        .fetch_all(c)
        .await
    })?)
}

/// A move of an attempt's state machine; the fields left `None` keep their value.
#[derive(Debug, Clone, Default)]
pub struct PaymentMove<'a> {
    pub status: &'a str,
    pub decline_code: Option<&'a str>,
    pub provider_reference: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub expires_at: Option<i64>,
    /// The order a settled charge placed.
    pub order_id: Option<&'a str>,
}

/// Moves an attempt to `change.status` if it is in one of the `from` states (one or two),
/// and returns it as moved; `None` when it was not (someone else moved it first), which
/// makes every move safe to race: on PostgreSQL the update waits for the row, on SQLite
/// for the one writer.
pub async fn move_payment(
    conn: &mut Conn,
    id: &str,
    from: &[&str],
    change: &PaymentMove<'_>,
    now: i64,
) -> StoreResult<Option<PaymentRow>> {
    let (first, second) = match from {
        [only] => (*only, *only),
        [first, second] => (*first, *second),
        _ => return Ok(None),
    };
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "UPDATE payments SET status = $2, decline_code = COALESCE($3, decline_code),
                 provider_reference = COALESCE($4, provider_reference), client_secret = COALESCE($5, client_secret),
                 expires_at = COALESCE($6, expires_at), updated_at = $7, order_id = COALESCE($10, order_id)
             WHERE id = $1 AND (status = $8 OR status = $9)
             RETURNING ",
            payment_columns!()
        ))
        .bind(id)
        .bind(change.status)
        .bind(change.decline_code)
        .bind(change.provider_reference)
        .bind(change.client_secret)
        .bind(change.expires_at)
        .bind(now)
        .bind(first)
        .bind(second)
        .bind(change.order_id)
        .fetch_optional(c)
        .await
    })?)
}

/// Records a provider event's id; false when it was recorded before (a redelivery).
pub async fn record_provider_event(
    conn: &mut Conn,
    id: &str,
    provider: &str,
    kind: &str,
    now: i64,
) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "INSERT INTO provider_events (id, provider, type, received_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING"
        )
        .bind(id)
        .bind(provider)
        .bind(kind)
        .bind(now)
    )?;
    Ok(result == 1)
}

/// Moves the refunded amount from `expected_refunded` to `new_refunded` with `status`;
/// false when another refund changed it first.
pub async fn update_refunded(
    conn: &mut Conn,
    id: &str,
    expected_refunded: i64,
    new_refunded: i64,
    status: &str,
    now: i64,
) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "UPDATE payments SET refunded_amount = $3, status = $4, updated_at = $5
             WHERE id = $1 AND refunded_amount = $2",
        )
        .bind(id)
        .bind(expected_refunded)
        .bind(new_refunded)
        .bind(status)
        .bind(now)
    )?;
    Ok(result == 1)
}

/// A refund as an order shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub status: String,
    pub created_at: i64,
}

/// The refunds of payment `payment_id`, oldest first.
pub async fn list_refunds(conn: &mut Conn, payment_id: &str) -> StoreResult<Vec<RefundRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, payment_id, amount, status, created_at FROM refunds WHERE payment_id = $1
             ORDER BY created_at, id",
        )
        .bind(payment_id)
        .fetch_all(c)
        .await
    })?)
}

pub async fn insert_refund(conn: &mut Conn, id: &str, payment_id: &str, amount: i64, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, amount, status, created_at, updated_at)
             VALUES ($1, $2, $3, 'pending', $4, $4)",
        )
        .bind(id)
        .bind(payment_id)
        .bind(amount)
        .bind(now)
    )?;
    Ok(())
}

/// A pending refund with what retrying it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRefundRow {
    pub id: String,
    pub payment_id: String,
    /// The provider's id of the refunded charge.
    pub payment_reference: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub order_id: String,
    pub customer_id: Option<String>,
}

pub async fn list_stale_pending_refunds(
    conn: &mut Conn,
    updated_before: i64,
    limit: i64,
) -> StoreResult<Vec<PendingRefundRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT r.id, r.payment_id, p.provider_reference AS payment_reference, r.amount, p.currency, o.id AS order_id, o.customer_id
             FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.payment_id = p.id
             WHERE r.status = 'pending' AND r.updated_at < $1
             ORDER BY r.updated_at LIMIT $2",
        )
        .bind(updated_before)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Marks a pending refund succeeded; false when it was not pending any more.
pub async fn complete_pending_refund(
    conn: &mut Conn,
    id: &str,
    provider_reference: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query(
            "UPDATE refunds SET status = 'succeeded', provider_reference = COALESCE($2, provider_reference),
                 updated_at = $3
             WHERE id = $1 AND status = 'pending'"
        )
        .bind(id)
        .bind(provider_reference)
        .bind(now)
    )?;
    Ok(result == 1)
}

/// Marks a pending refund failed; false when it was not pending any more.
pub async fn fail_pending_refund(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let result = exec!(
        conn,
        sqlx::query("UPDATE refunds SET status = 'failed', updated_at = $2 WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .bind(now)
    )?;
    Ok(result == 1)
}

/// Takes a failed refund's `amount` back out of its payment's refunded amount, in one
/// write, whatever other refunds did meanwhile.
pub async fn take_back_refund(conn: &mut Conn, payment_id: &str, amount: i64, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE payments SET refunded_amount = refunded_amount - $2,
                 status = CASE WHEN refunded_amount - $2 = 0 THEN 'captured' ELSE 'partially_refunded' END,
                 updated_at = $3
             WHERE id = $1",
        )
        .bind(payment_id)
        .bind(amount)
        .bind(now)
    )?;
    Ok(())
}
