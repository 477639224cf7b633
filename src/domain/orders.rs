//! Orders and the two state machines of the contract: fulfilment (`paid` → `fulfilled` |
//! `canceled`) and payment (`authorized` → `captured` at fulfilment or `canceled` at a
//! cancel; `captured` → `partially_refunded` → `refunded`). Transitions are explicit
//! tables; anything else is a `Conflict`.

use std::collections::HashMap;

use super::events::{self, EventKind, Subject};
use super::inventory::{self, StockMove};
use super::money::{Currency, Money};
use super::payments::{Payments, StepOutcome};
use super::pricing::{PricedCart, PricedLine, Totals};
use super::time::Timestamp;
use super::validate::Address;
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, accounts, ids};
use crate::store::orders::{self as store, OrderFilter, OrderItemRow, OrderRow};
use crate::store::payments::{self as payment_store, PaymentMove, RefundRow};
use crate::store::{Conn, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Paid,
    Fulfilled,
    Canceled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderAction {
    Fulfill,
    Cancel,
    Refund,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 3] = [OrderStatus::Paid, OrderStatus::Fulfilled, OrderStatus::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Canceled => "canceled",
        }
    }

    pub fn parse(value: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// The fulfilment transition table. A refund leaves the status as it is.
    pub fn after(self, action: OrderAction) -> Option<OrderStatus> {
        use OrderAction as A;
        use OrderStatus as S;
        match (self, action) {
            (S::Paid, A::Fulfill) => Some(S::Fulfilled),
            (S::Paid, A::Cancel) => Some(S::Canceled),
            (S::Paid | S::Fulfilled, A::Refund) => Some(self),
            (S::Fulfilled | S::Canceled, _) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Pending,
    /// Waiting for the customer to finish an action (3-D Secure); the stock stays held.
    RequiresAction,
    /// Held for a capture at fulfilment (manual capture).
    Authorized,
    Captured,
    Failed,
    /// Abandoned by the customer, or an authorization released by a cancel.
    Canceled,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Pending,
        PaymentStatus::RequiresAction,
        PaymentStatus::Authorized,
        PaymentStatus::Captured,
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(value: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|status| status.as_str() == value)
    }
}

/// Why a refund cannot happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The payment is in a state that takes no refund (a 409).
    IllegalState,
    /// The amount is zero or more than what is left (a 422).
    BadAmount { remaining: i64 },
}

/// The payment transition for refunding `amount` of a payment of `total` of which
/// `refunded` is already refunded; returns the new status and refunded amount.
pub fn refund_transition(
    status: PaymentStatus,
    total: i64,
    refunded: i64,
    amount: i64,
) -> Result<(PaymentStatus, i64), RefundRefusal> {
    if !matches!(status, PaymentStatus::Captured | PaymentStatus::PartiallyRefunded) {
        return Err(RefundRefusal::IllegalState);
    }
    let remaining = total - refunded;
    if amount <= 0 || amount > remaining {
        return Err(RefundRefusal::BadAmount { remaining });
    }
    let refunded = refunded + amount;
    let status = if refunded == total {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    };
    Ok((status, refunded))
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub number: i64,
    pub customer_id: Option<String>,
    pub email: String,
    pub status: OrderStatus,
    /// The lines and totals exactly as its cart was priced at checkout.
    pub pricing: PricedCart,
    pub currency: Currency,
    pub payment: PaymentSummary,
    /// Every refund asked for, oldest first, with its own status.
    pub refunds: Vec<Refund>,
    pub shipping_address: Address,
    pub tracking_number: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct PaymentSummary {
    pub id: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub refunded_amount: Money,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub amount: Money,
    /// `pending` (asked, not yet answered), `succeeded` or `failed`.
    pub status: String,
    pub created_at: Timestamp,
}

/// The caller's own orders, newest first.
pub async fn list_own_orders(db: &Store, caller: &Principal, page: &PageRequest) -> DomainResult<Page<Order>> {
    let (customer_id, _) = caller.require_customer()?;
    list(db, Some(customer_id), None, page).await
}

/// One customer's orders, newest first; the caller has been checked already.
pub(super) async fn list_customer_orders(
    db: &Store,
    customer_id: &str,
    page: &PageRequest,
) -> DomainResult<Page<Order>> {
    list(db, Some(customer_id), None, page).await
}

/// Every order, optionally of one status (staff).
pub async fn list_all_orders(
    db: &Store,
    caller: &Principal,
    status: Option<&str>,
    page: &PageRequest,
) -> DomainResult<Page<Order>> {
    caller.require(Permission::Orders)?;
    let status = match status {
        None => None,
        Some(value) => Some(
            OrderStatus::parse(value)
                .ok_or_else(|| DomainError::invalid("status", "must be paid, fulfilled or canceled"))?,
        ),
    };
    list(db, None, status, page).await
}

async fn list(
    db: &Store,
    customer_id: Option<&str>,
    status: Option<OrderStatus>,
    page: &PageRequest,
) -> DomainResult<Page<Order>> {
    let filter = OrderFilter {
        customer_id,
        status: status.map(OrderStatus::as_str),
        before_id: page.before(),
        limit: page.fetch_limit(),
    };
    let mut conn = db.read().await?;
    let (rows, items, refunds) = store::list_orders(&mut conn, &filter).await?;
    let mut items_by_order: HashMap<String, Vec<OrderItemRow>> = HashMap::new();
    for item in items {
        items_by_order.entry(item.order_id.clone()).or_default().push(item);
    }
    let mut refunds_by_payment: HashMap<String, Vec<RefundRow>> = HashMap::new();
    for refund in refunds {
        refunds_by_payment
            .entry(refund.payment_id.clone())
            .or_default()
            .push(refund);
    }
    let orders = rows
        .into_iter()
        .map(|row| {
            let items = items_by_order.remove(&row.id).unwrap_or_default();
            let refunds = refunds_by_payment.remove(&row.payment_id).unwrap_or_default();
            assemble(row, items, refunds)
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(page.into_page(orders, |o| &o.id))
}

/// An order its caller may see: its customer's, a guest order with its token, or any for staff.
pub async fn get_order(db: &Store, caller: &Principal, id: &str, guest_token: Option<&str>) -> DomainResult<Order> {
    let mut conn = db.read().await?;
    let row = store::find_order(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("order"))?;
    if !may_see(caller, &row, guest_token) {
        return Err(DomainError::NotFound("order"));
    }
    load_parts(&mut conn, row).await
}

/// Access check used by the order page and its event stream.
fn may_see(caller: &Principal, row: &OrderRow, guest_token: Option<&str>) -> bool {
    match caller {
        Principal::Staff { .. } | Principal::ApiKey { .. } => caller.require(Permission::Orders).is_ok(),
        _ => match (&row.customer_id, &row.guest_token_hash) {
            (Some(owner), _) => caller.customer_id() == Some(owner.as_str()),
            (None, Some(hash)) => guest_token.is_some_and(|token| constant_time_eq(&accounts::hash_token(token), hash)),
            (None, None) => false,
        },
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Staff only: reads an order for the admin API.
pub async fn get_order_as_staff(db: &Store, caller: &Principal, id: &str) -> DomainResult<Order> {
    caller.require(Permission::Orders)?;
    get_order(db, caller, id, None).await
}

/// Fulfils a paid order; a payment only authorized (manual capture) is captured first,
/// and a capture the provider refuses leaves the order as it was.
#[tracing::instrument(skip(db, provider, caller))]
pub async fn fulfill(
    db: &Store,
    provider: &Payments,
    caller: &Principal,
    id: &str,
    tracking_number: Option<&str>,
) -> DomainResult<Order> {
    caller.require(Permission::Orders)?;
    if tracking_number.is_some_and(|t| t.trim().is_empty() || t.chars().count() > 100) {
        return Err(DomainError::invalid("tracking_number", "must be 1 to 100 characters"));
    }
    let before = {
        let mut conn = db.read().await?;
        store::find_order(&mut conn, id)
            .await?
            .ok_or(DomainError::NotFound("order"))?
    };
    transition(&before, OrderAction::Fulfill)?;
    let authorized = before.payment_status == PaymentStatus::Authorized.as_str();
    if authorized {
        // Outside the transaction, keyed by the payment: two fulfilments at once capture once.
        settle_step(
            provider
                .capture(&before.payment_id, reference_of(&before, provider)?, money_of(&before)?)
                .await,
        )?;
    }
    let mut tx = db.write().await?;
    let row = store::find_order(&mut tx, id)
        .await?
        .ok_or(DomainError::NotFound("order"))?;
    let next = transition(&row, OrderAction::Fulfill)?;
    let now = Timestamp::now().0;
    if !store::transition_order(
        &mut tx,
        id,
        &row.status,
        next.as_str(),
        tracking_number.map(str::trim),
        now,
    )
    .await?
    {
        return Err(concurrent_change());
    }
    if authorized {
        let captured = PaymentMove {
            status: PaymentStatus::Captured.as_str(),
            ..PaymentMove::default()
        };
        let from = [PaymentStatus::Authorized.as_str()];
        if payment_store::move_payment(&mut tx, &row.payment_id, &from, &captured, now)
            .await?
            .is_some()
        {
            record_event(&mut tx, EventKind::OrderPaid, id).await?;
        }
    }
    let order = record_event(&mut tx, EventKind::OrderFulfilled, id).await?;
    tx.commit().await?;
    Ok(order)
}

/// The provider's id of an order's charge, refusing payments another provider took.
fn reference_of<'a>(row: &'a OrderRow, provider: &Payments) -> DomainResult<&'a str> {
    if row.payment_provider != provider.name() {
        return Err(DomainError::conflict(format!(
            "this order was paid through the {} payment provider, which this shop no longer uses",
            row.payment_provider
        )));
    }
    row.payment_reference
        .as_deref()
        .ok_or_else(|| DomainError::Internal(format!("payment {} has no provider reference", row.payment_id)))
}

fn money_of(row: &OrderRow) -> DomainResult<Money> {
    let currency = Currency::parse(&row.currency).ok_or_else(|| super::catalog::corrupt("currency", &row.currency))?;
    Ok(Money::new(row.payment_amount, currency))
}

/// A capture or release the provider must have done before the order moves on.
fn settle_step(answer: Result<StepOutcome, super::payments::ProviderError>) -> DomainResult<()> {
    match answer {
        Ok(StepOutcome::Done { .. }) => Ok(()),
        Ok(StepOutcome::Refused { reason }) => Err(DomainError::PaymentProvider(reason)),
        Err(error) => Err(DomainError::PaymentOutcomeUnknown(error.0)),
    }
}

/// Cancels a paid order: its stock goes back on the shelf and what is left of the payment
/// is refunded, or, for a payment only authorized, the authorization released.
#[tracing::instrument(skip(db, provider, caller))]
pub async fn cancel(db: &Store, provider: &Payments, caller: &Principal, id: &str) -> DomainResult<Order> {
    caller.require(Permission::Orders)?;
    let before = {
        let mut conn = db.read().await?;
        store::find_order(&mut conn, id)
            .await?
            .ok_or(DomainError::NotFound("order"))?
    };
    transition(&before, OrderAction::Cancel)?;
    let authorized = before.payment_status == PaymentStatus::Authorized.as_str();
    if before.payment_amount > before.payment_refunded_amount {
        // Checked before anything changes: the release or refund below needs the provider.
        reference_of(&before, provider)?;
    }
    if authorized {
        // Released at the provider first: an order is canceled only once no capture of
        // its authorization can happen.
        settle_step(
            provider
                .cancel(&before.payment_id, reference_of(&before, provider)?)
                .await,
        )?;
    }
    let mut tx = db.write().await?;
    let row = store::find_order(&mut tx, id)
        .await?
        .ok_or(DomainError::NotFound("order"))?;
    let next = transition(&row, OrderAction::Cancel)?;
    let now = Timestamp::now().0;
    if !store::transition_order(&mut tx, id, &row.status, next.as_str(), None, now).await? {
        return Err(concurrent_change());
    }
    if authorized {
        let released = PaymentMove {
            status: PaymentStatus::Canceled.as_str(),
            ..PaymentMove::default()
        };
        let from = [PaymentStatus::Authorized.as_str()];
        if payment_store::move_payment(&mut tx, &row.payment_id, &from, &released, now)
            .await?
            .is_none()
        {
            return Err(concurrent_change());
        }
    }
    let items: Vec<(String, i64)> = store::list_order_items(&mut tx, id)
        .await?
        .into_iter()
        .map(|item| (item.variant_id, item.quantity))
        .collect();
    inventory::move_lines(&mut tx, &items, StockMove::Restock).await?;
    record_event(&mut tx, EventKind::OrderCanceled, id).await?;
    let remaining = row.payment_amount - row.payment_refunded_amount;
    let refund = if remaining > 0 && !authorized {
        Some(begin_refund(&mut tx, &row, remaining, now).await?)
    } else {
        None
    };
    tx.commit().await?;
    if let Some(refund) = refund {
        finish_refund(db, provider, &row, refund, RefundAskedBy::Cancel).await?;
    }
    let mut conn = db.read().await?;
    load(&mut conn, id).await
}

/// Refunds `amount` minor units (default: all that is left) of an order's payment.
#[tracing::instrument(skip(db, provider, caller))]
pub async fn refund(
    db: &Store,
    provider: &Payments,
    caller: &Principal,
    id: &str,
    amount: Option<i64>,
) -> DomainResult<Order> {
    caller.require(Permission::Orders)?;
    let mut tx = db.write().await?;
    let row = store::find_order(&mut tx, id)
        .await?
        .ok_or(DomainError::NotFound("order"))?;
    transition(&row, OrderAction::Refund)?;
    reference_of(&row, provider)?;
    let amount = amount.unwrap_or(row.payment_amount - row.payment_refunded_amount);
    let refund = begin_refund(&mut tx, &row, amount, Timestamp::now().0).await?;
    tx.commit().await?;
    finish_refund(db, provider, &row, refund, RefundAskedBy::Staff).await?;
    let mut conn = db.read().await?;
    load(&mut conn, id).await
}

/// A refund recorded as pending: the payment already counts it, so concurrent refunds
/// can never add up to more than was captured.
struct PendingRefund {
    id: String,
    amount: i64,
}

async fn begin_refund(tx: &mut Conn, row: &OrderRow, amount: i64, now: i64) -> DomainResult<PendingRefund> {
    let status = PaymentStatus::parse(&row.payment_status)
        .ok_or_else(|| super::catalog::corrupt("payment status", &row.payment_status))?;
    let (next, refunded) =
        refund_transition(status, row.payment_amount, row.payment_refunded_amount, amount).map_err(|refusal| {
            match refusal {
                RefundRefusal::IllegalState => {
                    DomainError::conflict(format!("a payment that is {} takes no refund", status.as_str()))
                }
                RefundRefusal::BadAmount { remaining } => DomainError::invalid(
                    "amount",
                    match Currency::parse(&row.currency) {
                        Some(currency) => format!(
                            "can be at most {}, what is left to refund",
                            Money::new(remaining, currency)
                        ),
                        None => format!("can be at most {remaining} minor units, what is left to refund"),
                    },
                ),
            }
        })?;
    if !payment_store::update_refunded(
        tx,
        &row.payment_id,
        row.payment_refunded_amount,
        refunded,
        next.as_str(),
        now,
    )
    .await?
    {
        return Err(concurrent_change());
    }
    let id = ids::new_id("ref");
    payment_store::insert_refund(tx, &id, &row.payment_id, amount, now).await?;
    Ok(PendingRefund { id, amount })
}

/// Who asked for a refund, which decides what its failure answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefundAskedBy {
    /// Staff, who are told of a failure (the order stays refundable, so they can retry).
    Staff,
    /// A cancel: the order is canceled whatever the provider says, and takes no other
    /// refund; a refusal is logged for staff.
    Cancel,
}

/// Asks the provider to refund, then records the outcome. A refusal takes the refund back
/// out of the payment; an unknown answer leaves it pending for the recovery job, which
/// asks again with the same key (so a refund that did go through is not paid twice).
async fn finish_refund(
    db: &Store,
    provider: &Payments,
    row: &OrderRow,
    refund: PendingRefund,
    asked_by: RefundAskedBy,
) -> DomainResult<()> {
    let answer = provider
        .refund(
            &refund.id,
            reference_of(row, provider)?,
            Money::new(refund.amount, money_of(row)?.currency),
        )
        .await;
    let now = Timestamp::now().0;
    match answer {
        Ok(StepOutcome::Done { reference }) => {
            let mut tx = db.write().await?;
            payment_store::complete_pending_refund(&mut tx, &refund.id, reference.as_deref(), now).await?;
            store::touch_order(&mut tx, &row.id, now).await?;
            record_event(&mut tx, EventKind::OrderRefunded, &row.id).await?;
            tx.commit().await?;
            Ok(())
        }
        Ok(StepOutcome::Refused { reason }) => {
            let mut tx = db.write().await?;
            take_back(&mut tx, &refund.id, &row.payment_id, refund.amount, now).await?;
            tx.commit().await?;
            match asked_by {
                RefundAskedBy::Staff => Err(DomainError::PaymentProvider(reason)),
                RefundAskedBy::Cancel => {
                    tracing::error!(refund_id = %refund.id, %reason, "the provider refused a canceled order's refund");
                    Ok(())
                }
            }
        }
        Err(error) => {
            tracing::warn!(refund_id = %refund.id, %error, "refund outcome unknown; the recovery job asks again");
            match asked_by {
                RefundAskedBy::Staff => Err(DomainError::PaymentOutcomeUnknown(error.0)),
                RefundAskedBy::Cancel => Ok(()),
            }
        }
    }
}

/// A refused refund: `failed`, and its amount no longer counted as refunded.
async fn take_back(tx: &mut Conn, refund_id: &str, payment_id: &str, amount: i64, now: i64) -> DomainResult<()> {
    if payment_store::fail_pending_refund(tx, refund_id, now).await? {
        payment_store::take_back_refund(tx, payment_id, amount, now).await?;
    }
    Ok(())
}

/// Retries refunds left `pending` for longer than `older_than_seconds` (the provider failed
/// during a cancel, or the process died before asking it). The provider call is keyed by
/// the refund id, so a refund that did go through is not paid twice. Returns how many
/// were completed.
#[tracing::instrument(skip_all)]
pub async fn retry_pending_refunds(db: &Store, provider: &Payments, older_than_seconds: i64) -> DomainResult<usize> {
    let before = Timestamp::now().plus_seconds(-older_than_seconds).0;
    let stale = {
        let mut conn = db.read().await?;
        payment_store::list_stale_pending_refunds(&mut conn, before, 100).await?
    };
    let mut completed = 0;
    for refund in stale {
        let Some(currency) = Currency::parse(&refund.currency) else {
            continue;
        };
        let Some(reference) = refund.payment_reference.as_deref() else {
            continue;
        };
        let answer = provider
            .refund(&refund.id, reference, Money::new(refund.amount, currency))
            .await;
        let now = Timestamp::now().0;
        let reference = match answer {
            Ok(StepOutcome::Done { reference }) => reference,
            Ok(StepOutcome::Refused { reason }) => {
                tracing::error!(refund_id = %refund.id, %reason, "the provider refused a refund");
                let mut tx = db.write().await?;
                take_back(&mut tx, &refund.id, &refund.payment_id, refund.amount, now).await?;
                tx.commit().await?;
                continue;
            }
            Err(error) => {
                tracing::warn!(refund_id = %refund.id, %error, "refund still failing at the provider");
                continue;
            }
        };
        let mut tx = db.write().await?;
        if payment_store::complete_pending_refund(&mut tx, &refund.id, reference.as_deref(), now).await? {
            store::touch_order(&mut tx, &refund.order_id, now).await?;
            record_event(&mut tx, EventKind::OrderRefunded, &refund.order_id).await?;
            tx.commit().await?;
            completed += 1;
        }
    }
    Ok(completed)
}

fn transition(row: &OrderRow, action: OrderAction) -> DomainResult<OrderStatus> {
    let status = OrderStatus::parse(&row.status).ok_or_else(|| super::catalog::corrupt("order status", &row.status))?;
    status.after(action).ok_or_else(|| {
        let verb = match action {
            OrderAction::Fulfill => "fulfilled",
            OrderAction::Cancel => "canceled",
            OrderAction::Refund => "refunded",
        };
        DomainError::conflict(format!("an order that is {} cannot be {verb}", status.as_str()))
    })
}

fn concurrent_change() -> DomainError {
    DomainError::conflict("the order changed while this request ran; read it again and retry")
}

/// Writes an event about order `id` as it now is, in the caller's transaction; returns the
/// order.
pub(super) async fn record_event(tx: &mut Conn, kind: EventKind, id: &str) -> DomainResult<Order> {
    let order = load(tx, id).await?;
    events::record(tx, kind, Subject::Order(&order)).await?;
    Ok(order)
}

pub(crate) async fn load(conn: &mut Conn, id: &str) -> DomainResult<Order> {
    let row = store::find_order(conn, id)
        .await?
        .ok_or(DomainError::NotFound("order"))?;
    load_parts(conn, row).await
}

async fn load_parts(conn: &mut Conn, row: OrderRow) -> DomainResult<Order> {
    let items = store::list_order_items(conn, &row.id).await?;
    let refunds = payment_store::list_refunds(conn, &row.payment_id).await?;
    assemble(row, items, refunds)
}

pub(super) fn assemble(row: OrderRow, items: Vec<OrderItemRow>, refunds: Vec<RefundRow>) -> DomainResult<Order> {
    let currency = Currency::parse(&row.currency).ok_or_else(|| super::catalog::corrupt("currency", &row.currency))?;
    let money = |amount| Money::new(amount, currency);
    Ok(Order {
        status: OrderStatus::parse(&row.status).ok_or_else(|| super::catalog::corrupt("order status", &row.status))?,
        pricing: PricedCart {
            currency,
            lines: items
                .into_iter()
                .map(|item| PricedLine {
                    id: item.id,
                    variant_id: item.variant_id,
                    sku: item.sku,
                    title: item.title,
                    quantity: item.quantity,
                    unit_price: money(item.unit_price_amount),
                    line_total: money(item.line_total_amount),
                    discount_total: Some(money(item.discount_total_amount)),
                    tax_total: Some(money(item.tax_total_amount)),
                })
                .collect(),
            shipping: row
                .shipping_option
                .as_deref()
                .map(|json| serde_json::from_str(json).map_err(|_| super::catalog::corrupt("order shipping", json)))
                .transpose()?,
            tax_lines: serde_json::from_str(&row.tax_lines)
                .map_err(|_| super::catalog::corrupt("order tax lines", &row.tax_lines))?,
            discounts: serde_json::from_str(&row.discounts)
                .map_err(|_| super::catalog::corrupt("order discounts", &row.discounts))?,
            prices_include_tax: row.prices_include_tax,
            // Not kept on orders: only carts are priced for shipping by it.
            weight_grams: 0,
            totals: Totals {
                subtotal: money(row.subtotal_amount),
                discount_total: money(row.discount_total_amount),
                shipping_total: money(row.shipping_total_amount),
                tax_total: money(row.tax_total_amount),
                total: money(row.total_amount),
            },
        },
        payment: PaymentSummary {
            status: PaymentStatus::parse(&row.payment_status)
                .ok_or_else(|| super::catalog::corrupt("payment status", &row.payment_status))?,
            id: row.payment_id,
            amount: money(row.payment_amount),
            refunded_amount: money(row.payment_refunded_amount),
        },
        refunds: refunds
            .into_iter()
            .map(|refund| Refund {
                id: refund.id,
                amount: money(refund.amount),
                status: refund.status,
                created_at: Timestamp(refund.created_at),
            })
            .collect(),
        shipping_address: serde_json::from_str(&row.shipping_address)
            .map_err(|_| super::catalog::corrupt("shipping address", &row.shipping_address))?,
        id: row.id,
        number: row.number,
        customer_id: row.customer_id,
        email: row.email,
        currency,
        tracking_number: row.tracking_number,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fulfilment_transition_table() {
        use OrderAction::*;
        use OrderStatus::*;
        let expected = [
            (Paid, Fulfill, Some(Fulfilled)),
            (Paid, Cancel, Some(Canceled)),
            (Paid, Refund, Some(Paid)),
            (Fulfilled, Fulfill, None),
            (Fulfilled, Cancel, None),
            (Fulfilled, Refund, Some(Fulfilled)),
            (Canceled, Fulfill, None),
            (Canceled, Cancel, None),
            (Canceled, Refund, None),
        ];
        for (status, action, next) in expected {
            assert_eq!(status.after(action), next, "{status:?} + {action:?}");
        }
    }

    #[test]
    fn refunds_move_captured_to_partially_refunded_to_refunded() {
        use PaymentStatus::*;
        assert_eq!(refund_transition(Captured, 1000, 0, 400), Ok((PartiallyRefunded, 400)));
        assert_eq!(
            refund_transition(PartiallyRefunded, 1000, 400, 600),
            Ok((Refunded, 1000))
        );
        assert_eq!(refund_transition(Captured, 1000, 0, 1000), Ok((Refunded, 1000)));
    }

    #[test]
    fn refunds_never_exceed_the_capture() {
        use PaymentStatus::*;
        assert_eq!(
            refund_transition(Captured, 1000, 0, 1001),
            Err(RefundRefusal::BadAmount { remaining: 1000 })
        );
        assert_eq!(
            refund_transition(PartiallyRefunded, 1000, 900, 101),
            Err(RefundRefusal::BadAmount { remaining: 100 })
        );
        assert_eq!(
            refund_transition(Captured, 1000, 0, 0),
            Err(RefundRefusal::BadAmount { remaining: 1000 })
        );
        assert_eq!(
            refund_transition(Captured, 1000, 0, -5),
            Err(RefundRefusal::BadAmount { remaining: 1000 })
        );
    }

    #[test]
    fn final_and_unsettled_payments_take_no_refund() {
        for status in [PaymentStatus::Refunded, PaymentStatus::Pending, PaymentStatus::Failed] {
            assert_eq!(refund_transition(status, 1000, 0, 1), Err(RefundRefusal::IllegalState));
        }
    }
}
