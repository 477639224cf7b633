//! Checkout, the one hard flow (design.md, "Checkout"):
//!
//! 1. one transaction reserves every line's stock with a conditional write, writes a
//!    `pending` payment attempt holding the lines, and marks the cart `checking_out`;
//! 2. the provider charges, outside any transaction, keyed by the payment id;
//! 3. one transaction records the outcome ([`settle`]): an order and a sale, or a released
//!    reservation and an open cart again, or (3-D Secure) an attempt waiting for the
//!    customer, still holding its stock.
//!
//! Every path that learns an outcome (this flow, the customer's confirm call, the
//! provider's webhook, the recovery job) goes through [`settle`], whose conditional
//! moves of the attempt's state make it the one state machine per payment (design.md,
//! invariant 8): whichever arrives first acts, the others read what it decided. A process
//! that dies between 1 and 3 leaves a pending attempt; `jobs::recovery` asks the provider
//! what happened and settles it.

use super::carts::{self, CartDetails, CartStatus};
use super::events::{self, EventKind, Subject};
use super::inventory::{self, StockMove};
use super::money::{Currency, Money};
use super::orders::{self, Order, OrderStatus, PaymentStatus};
use super::payments::{CaptureMode, ChargeOutcome, ChargeRequest, Payments, ProviderError};
use super::pricing::{LineToPrice, PricedCart, PricingContext, STANDARD_TAX_CLASS, price_cart};
use super::time::Timestamp;
use super::validate::{self, Address, Checks};
use super::{DomainError, DomainResult, Principal, Shortage, accounts, discounts, ids, shipping};
use crate::faults::{self, FaultPoint};
use crate::store::carts as cart_store;
use crate::store::orders::{self as order_store, OrderItemRow, OrderRow};
use crate::store::payments::{self as store, PaymentLineRow, PaymentMove, PaymentRow};
use crate::store::{Conn, Store};

pub struct CheckoutRequest {
    /// Overrides the cart's email; a guest checkout needs one or the other.
    pub email: Option<String>,
    /// Overrides the cart's address; checkout needs one or the other.
    pub shipping_address: Option<Address>,
    /// Chooses the shipping option, as `PATCH /v1/carts/{id}` would.
    pub shipping_option_id: Option<String>,
    /// A test token, or a Stripe PaymentMethod id, as the shop's provider takes.
    pub payment_method: String,
    /// The request's `Idempotency-Key`, kept on the attempt so that a retry after a crash
    /// finds the order it made.
    pub idempotency_key: Option<String>,
}

/// A placed order; a guest checkout also gets the token that opens its order page.
#[derive(Debug)]
pub struct PlacedOrder {
    pub order: Order,
    pub guest_token: Option<String>,
}

/// What a checkout achieved: an order, or an attempt waiting for the customer to finish
/// an action (3-D Secure) in their browser, then confirm.
#[derive(Debug)]
pub enum CheckoutOutcome {
    Placed(Box<PlacedOrder>),
    RequiresAction {
        payment_id: String,
        client_secret: String,
        /// A guest's token for the order to come (shown once, here: the confirmation's
        /// answer cannot carry it, as only its hash is kept).
        guest_token: Option<String>,
    },
}

/// What step 3 decided, or what an earlier settlement had decided.
#[derive(Debug, Clone)]
pub enum Settlement {
    Placed {
        order_id: String,
        /// The order as this settlement placed it; `None` for one decided earlier, which
        /// is read from the database.
        placed: Option<Box<Order>>,
    },
    AwaitingAction {
        client_secret: String,
    },
    Declined {
        decline_code: String,
    },
    Failed {
        reason: String,
    },
    Canceled,
    /// Not settled yet: the provider's outcome is still unknown.
    Pending,
}

/// How long a customer has to finish an action (3-D Secure) before the recovery job
/// cancels the attempt and releases its stock.
pub const ACTION_SECONDS: i64 = 15 * 60;

/// Settings of the flow.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutSettings {
    /// How long an attempt may hold its reserved stock unsettled (its process died, say)
    /// before the recovery job reconciles it with the provider. Always longer than the
    /// provider calls a checkout makes in a row ([`PROVIDER_CALLS_PER_CHECKOUT`] times the
    /// provider timeout), so no live process still waits on a charge it reconciles.
    pub reservation_seconds: i64,
    /// A provider call taking longer has failed (for a capture: stock released, nothing
    /// charged). Used to build the provider; kept here so the reservation can outlast it.
    pub provider_timeout: std::time::Duration,
}

/// The provider calls one checkout may make one after the other: prepare, charge, and a
/// lookup when the charge's answer was lost (a cancel of a declined charge comes after the
/// outcome is known, and its failure leaves the attempt for recovery).
pub const PROVIDER_CALLS_PER_CHECKOUT: i64 = 3;

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            reservation_seconds: 45,
            provider_timeout: std::time::Duration::from_secs(10),
        }
    }
}

#[tracing::instrument(skip_all, fields(cart_id = %cart_id))]
pub async fn checkout(
    db: &Store,
    provider: &Payments,
    settings: CheckoutSettings,
    caller: &Principal,
    cart_id: &str,
    request: CheckoutRequest,
) -> DomainResult<CheckoutOutcome> {
    check_request(provider, &request)?;
    let guest_token = caller.customer_id().is_none().then(new_guest_token);
    let guest_token_hash = guest_token.as_deref().map(accounts::hash_token);

    let attempt = match reserve(db, provider, settings, caller, cart_id, guest_token_hash, &request).await? {
        Reserved::Attempt(attempt) => attempt,
        Reserved::Earlier(earlier) => return outcome_of(db, &earlier.id, settlement_of(&earlier)).await,
    };
    faults::crash_if(FaultPoint::AfterReservation);
    let charge = charge_of(&attempt)?;
    let reference = match provider.prepare(charge).await {
        Ok(Some(reference)) => {
            if !keep_reference(db, &attempt.id, &reference).await? {
                // The attempt was closed meanwhile (this checkout outlived its
                // reservation): it is not charged now.
                let settlement = settlement_of(&find_attempt(db, &attempt.id).await?);
                return outcome_of(db, &attempt.id, settlement).await;
            }
            Some(reference)
        }
        Ok(None) => None,
        // Nothing can have been charged: the charge itself was never asked for.
        Err(error) => return fail_unprepared(db, &attempt.id, error).await,
    };
    let answer = provider.charge(charge, reference.as_deref()).await;
    faults::crash_if(FaultPoint::AfterCapture);
    let outcome = match answer {
        Ok(outcome) => outcome,
        // The charge may or may not have happened: asked once more, the provider may
        // know; if not, the attempt stays pending, its stock held, for the recovery job.
        Err(error) => match ask_provider(provider, &attempt, reference.as_deref()).await {
            Ok(outcome) => outcome,
            Err(_) => {
                metrics::counter!("backroom_checkouts_total", "outcome" => "unknown").increment(1);
                return Err(DomainError::PaymentOutcomeUnknown(error.0));
            }
        },
    };
    let outcome = match refusal_closed_at_provider(provider, &attempt, reference.as_deref(), outcome).await {
        Ok(outcome) => outcome,
        Err(error) => {
            metrics::counter!("backroom_checkouts_total", "outcome" => "unknown").increment(1);
            return Err(error);
        }
    };
    let settlement = settle(db, &attempt.id, outcome).await?;
    metrics::counter!("backroom_checkouts_total", "outcome" => settlement.metric_label()).increment(1);
    let mut outcome = outcome_of(db, &attempt.id, settlement).await?;
    match &mut outcome {
        CheckoutOutcome::Placed(placed) => placed.guest_token = guest_token,
        CheckoutOutcome::RequiresAction { guest_token: token, .. } => *token = guest_token,
    }
    Ok(outcome)
}

/// What a settlement means to the customer who checked out.
pub(super) async fn outcome_of(db: &Store, payment_id: &str, settlement: Settlement) -> DomainResult<CheckoutOutcome> {
    match settlement {
        Settlement::AwaitingAction { client_secret } => Ok(CheckoutOutcome::RequiresAction {
            payment_id: payment_id.to_owned(),
            client_secret,
            guest_token: None,
        }),
        other => Ok(CheckoutOutcome::Placed(Box::new(PlacedOrder {
            order: placed_order(db, other).await?,
            guest_token: None,
        }))),
    }
}

impl Settlement {
    fn metric_label(&self) -> &'static str {
        match self {
            Settlement::Placed { .. } => "paid",
            Settlement::AwaitingAction { .. } => "requires_action",
            Settlement::Declined { .. } => "declined",
            Settlement::Failed { .. } => "provider_error",
            Settlement::Canceled => "canceled",
            Settlement::Pending => "unknown",
        }
    }
}

/// Keeps the provider's reference on the attempt before the charge is asked for, so that
/// the charge's outcome can be looked up whatever happens next; false when the attempt is
/// no longer pending (the recovery job closed it), and must not be charged.
async fn keep_reference(db: &Store, payment_id: &str, reference: &str) -> DomainResult<bool> {
    let mut tx = db.write().await?;
    let change = PaymentMove {
        status: PaymentStatus::Pending.as_str(),
        provider_reference: Some(reference),
        ..PaymentMove::default()
    };
    let kept = store::move_payment(&mut tx, payment_id, &UNSETTLED[..1], &change, Timestamp::now().0)
        .await?
        .is_some();
    tx.commit().await?;
    Ok(kept)
}

async fn find_attempt(db: &Store, payment_id: &str) -> DomainResult<PaymentRow> {
    let mut conn = db.read().await?;
    store::find_payment(&mut conn, payment_id)
        .await?
        .ok_or(DomainError::NotFound("payment"))
}

/// A decline or failure is settled (its stock released) only once the provider's charge
/// can no longer go on: Stripe keeps a declined PaymentIntent open for another card, and
/// the customer's browser may hold its client secret. So it is canceled first; if the
/// provider refuses because the charge went on meanwhile, what it says now is settled
/// instead. A provider without a reference (the test provider) has nothing to cancel.
pub(super) async fn refusal_closed_at_provider(
    provider: &Payments,
    attempt: &PaymentRow,
    reference: Option<&str>,
    outcome: ChargeOutcome,
) -> DomainResult<ChargeOutcome> {
    let (ChargeOutcome::Declined { .. } | ChargeOutcome::Failed { .. }, Some(reference)) = (&outcome, reference) else {
        return Ok(outcome);
    };
    let unknown = |error: ProviderError| DomainError::PaymentOutcomeUnknown(error.0);
    match provider.cancel(&attempt.id, reference).await.map_err(unknown)? {
        super::payments::StepOutcome::Done { .. } => Ok(outcome),
        // Refused: the charge went on. Only an outcome that ends it is settled; an intent
        // still open (processing, then declined) waits for the next look.
        super::payments::StepOutcome::Refused { reason } => {
            match ask_provider(provider, attempt, Some(reference))
                .await
                .map_err(unknown)?
            {
                ended @ (ChargeOutcome::Captured { .. } | ChargeOutcome::Authorized { .. }) => Ok(ended),
                _ => Err(DomainError::PaymentOutcomeUnknown(format!(
                    "the charge could not be canceled ({reason}) and has not ended"
                ))),
            }
        }
    }
}

/// A charge that could not even be prepared: failed, its stock released.
async fn fail_unprepared(db: &Store, payment_id: &str, error: ProviderError) -> DomainResult<CheckoutOutcome> {
    let reason = format!("nothing was charged: {error}");
    let settlement = settle(db, payment_id, ChargeOutcome::Failed { reason }).await?;
    metrics::counter!("backroom_checkouts_total", "outcome" => settlement.metric_label()).increment(1);
    outcome_of(db, payment_id, settlement).await
}

/// The order a settlement placed, or the error that says why there is none.
pub(super) async fn placed_order(db: &Store, settlement: Settlement) -> DomainResult<Order> {
    match settlement {
        Settlement::Placed {
            placed: Some(order), ..
        } => Ok(*order),
        Settlement::Placed { order_id, placed: None } => {
            let mut conn = db.read().await?;
            orders::load(&mut conn, &order_id).await
        }
        Settlement::Declined { decline_code } => Err(DomainError::PaymentDeclined { decline_code }),
        Settlement::Failed { reason } => Err(DomainError::PaymentProvider(reason)),
        Settlement::Canceled => Err(DomainError::conflict("this payment was canceled")),
        Settlement::Pending => Err(DomainError::PaymentOutcomeUnknown(
            "the payment provider's answer is not known yet".to_owned(),
        )),
        Settlement::AwaitingAction { .. } => Err(DomainError::Internal(
            "an attempt waiting for the customer has no order".to_owned(),
        )),
    }
}

/// The charge an attempt asks for: its amount, its method, its capture mode.
pub(super) fn charge_of(attempt: &PaymentRow) -> DomainResult<ChargeRequest<'_>> {
    let currency =
        Currency::parse(&attempt.currency).ok_or_else(|| super::catalog::corrupt("currency", &attempt.currency))?;
    Ok(ChargeRequest {
        payment_id: &attempt.id,
        method: &attempt.payment_token,
        amount: Money::new(attempt.amount, currency),
        capture: CaptureMode::parse(&attempt.capture_method).unwrap_or_default(),
    })
}

/// What the provider knows of an attempt's charge (by its `reference`, when it has one);
/// one it never received is over.
pub(super) async fn ask_provider(
    provider: &Payments,
    attempt: &PaymentRow,
    reference: Option<&str>,
) -> Result<ChargeOutcome, ProviderError> {
    let charge = charge_of(attempt).map_err(|error| ProviderError(error.to_string()))?;
    Ok(provider
        .lookup(charge, reference)
        .await?
        .unwrap_or_else(|| ChargeOutcome::Failed {
            reason: "the payment provider never received the charge".to_owned(),
        }))
}

/// What can be checked before the cart is read: the payment token, and any email or
/// address the request carries (checked again, with the cart's, when they are applied).
fn check_request(provider: &Payments, request: &CheckoutRequest) -> DomainResult<()> {
    let mut checks = Checks::default();
    if let Some(email) = &request.email {
        validate::email(&mut checks, "email", email);
    }
    if let Some(address) = &request.shipping_address {
        Address::parse(&mut checks, "shipping_address", address);
    }
    if !provider.recognizes(&request.payment_method) {
        let field = match provider.name() {
            "stripe" => "payment.payment_method",
            _ => "payment.token",
        };
        checks.fail(field, "is not a payment method this shop accepts");
    }
    checks.finish()
}

enum Reserved {
    Attempt(PaymentRow),
    /// The attempt an earlier request with the same idempotency key made.
    Earlier(PaymentRow),
}

/// Step 1: in one transaction, reserve stock and write the pending attempt.
async fn reserve(
    db: &Store,
    provider: &Payments,
    settings: CheckoutSettings,
    caller: &Principal,
    cart_id: &str,
    guest_token_hash: Option<String>,
    request: &CheckoutRequest,
) -> DomainResult<Reserved> {
    let now = Timestamp::now();
    let mut tx = db.write().await?;
    if let Some(key) = request.idempotency_key.as_deref() {
        // Whether the caller may see the cart comes first: a retry learns nothing else.
        carts::find_accessible_cart(&mut tx, caller, cart_id).await?;
        if let Some(earlier) = store::find_payment_by_key(&mut tx, cart_id, key).await?
            // One that failed or was canceled charged nothing: the retry runs anew.
            && !matches!(settlement_of(&earlier), Settlement::Failed { .. } | Settlement::Canceled)
        {
            // A retry of a checkout whose answer was lost or unknown: it gets that
            // checkout's outcome. Committed, not dropped: on SQLite the order may be a
            // queued writer's work whose group is not on disk yet, and committing waits for it.
            tx.commit().await?;
            return Ok(Reserved::Earlier(earlier));
        }
    }
    // The cart is locked for checkout first and its lines read after, so that an edit
    // racing this checkout either lands before (and is paid for) or is refused. The row
    // comes back as locked (see `open_cart_for_edit`); one the caller may not see is
    // `NotFound`, and the dropped transaction unlocks it.
    let (open, checking_out) = (CartStatus::Open.as_str(), CartStatus::CheckingOut.as_str());
    let Some(locked) = cart_store::set_cart_status(&mut tx, cart_id, open, checking_out, None, now.0).await? else {
        let found = carts::find_accessible_cart(&mut tx, caller, cart_id).await?;
        return Err(carts::not_open(&found.status));
    };
    let locked = carts::accessible(caller, locked)?;
    let details = CartDetails {
        email: request.email.clone().map(Some),
        shipping_address: request.shipping_address.clone().map(Some),
        shipping_option_id: request.shipping_option_id.clone().map(Some),
        currency: None,
    };
    let cart = if details.is_empty() {
        carts::load_lines(&mut tx, caller, locked).await?
    } else {
        carts::set_details(&mut tx, caller, &locked, details).await?
    };
    let priced = &cart.pricing;
    if priced.lines.is_empty() {
        return Err(DomainError::invalid("items", "the cart is empty"));
    }
    if !cart.changed_prices.is_empty() {
        // Refused once: the customer is told the new prices, which the cart records as
        // seen (exactly those, not whatever a later change made them), and the cart opens
        // again for the next checkout to pay them.
        for change in &cart.changed_prices {
            cart_store::set_seen_price(&mut tx, &change.item_id, change.now.amount).await?;
        }
        cart_store::set_cart_status(&mut tx, cart_id, checking_out, open, None, now.0).await?;
        tx.commit().await?;
        return Err(DomainError::PricesChanged(cart.changed_prices));
    }
    let (email, address) = buyer(caller, &cart)?;
    if priced.shipping.is_none() && shipping::ships(&mut tx).await? {
        return Err(DomainError::invalid(
            "shipping_option_id",
            "choose a shipping option that serves this cart (GET /v1/carts/{id}/shipping-options)",
        ));
    }
    if let Some(index) = priced.lines.iter().position(|line| cart.unsellable.contains(&line.id)) {
        return Err(DomainError::invalid(
            format!("items[{index}]"),
            "this product is no longer for sale",
        ));
    }
    if let Some(index) = priced.lines.iter().position(|line| cart.not_sold.contains(&line.id)) {
        return Err(DomainError::NotSoldInCurrency {
            field: format!("items[{index}]"),
            currency: cart.currency.to_string(),
        });
    }
    if !cart.codes_not_applied.is_empty() {
        // The customer expects these discounts: refused rather than charged without them,
        // and taken off the cart so that the next checkout goes through.
        discounts::drop_codes(&mut tx, cart_id, &cart.codes_not_applied).await?;
        cart_store::set_cart_status(&mut tx, cart_id, checking_out, open, None, now.0).await?;
        tx.commit().await?;
        return Err(DomainError::DiscountUnavailable {
            names: cart.codes_not_applied.clone(),
            codes: cart.codes_not_applied,
        });
    }

    // A guest cart checked out by a signed-in customer becomes that customer's order;
    // without this the order would have neither an owner nor a guest token.
    let customer_id = cart
        .customer_id
        .clone()
        .or_else(|| caller.customer_id().map(str::to_owned));
    let attempt = PaymentRow {
        id: ids::new_id("pay"),
        cart_id: cart.id.clone(),
        customer_id,
        email,
        currency: cart.currency.to_string(),
        amount: priced.totals.total.amount,
        refunded_amount: 0,
        status: PaymentStatus::Pending.as_str().to_owned(),
        payment_token: request.payment_method.clone(),
        decline_code: None,
        provider_reference: None,
        shipping_address: serde_json::to_string(&address).map_err(|error| DomainError::Internal(error.to_string()))?,
        idempotency_key: request.idempotency_key.clone(),
        guest_token_hash,
        order_id: None,
        created_at: now.0,
        updated_at: now.0,
        expires_at: now.plus_seconds(settings.reservation_seconds).0,
        pricing: Some(serde_json::to_string(priced).map_err(|error| DomainError::Internal(error.to_string()))?),
        provider: provider.name().to_owned(),
        capture_method: provider.capture_mode().as_str().to_owned(),
        client_secret: None,
    };
    store::insert_payment(&mut tx, &attempt).await?;
    for (position, line) in priced.lines.iter().enumerate() {
        let row = PaymentLineRow {
            payment_id: attempt.id.clone(),
            position: position as i64,
            variant_id: line.variant_id.clone(),
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            unit_price_amount: line.unit_price.amount,
        };
        store::insert_payment_line(&mut tx, &row).await?;
    }
    // The hot rows last: from a variant's reservation to the commit, every checkout of
    // that variant waits for this one (and a popular code's checkouts for its use).
    let lines: Vec<(String, i64)> = priced
        .lines
        .iter()
        .map(|line| (line.variant_id.clone(), line.quantity))
        .collect();
    if let Err(shortages) = inventory::reserve_lines(&mut tx, &lines).await? {
        // Dropping the transaction rolls back the reservations that did succeed.
        metrics::counter!("backroom_checkouts_total", "outcome" => "out_of_stock").increment(1);
        let titled = shortages
            .into_iter()
            .map(|shortage| Shortage {
                title: priced
                    .lines
                    .iter()
                    .find(|line| line.variant_id == shortage.variant_id)
                    .map_or_else(String::new, |line| line.title.clone()),
                ..shortage
            })
            .collect();
        return Err(DomainError::OutOfStock(titled));
    }
    let buyer = discounts::Buyer::new(attempt.customer_id.as_deref(), Some(&attempt.email));
    if let Err(unavailable) = discounts::take_uses(&mut tx, priced, &attempt.id, &buyer).await? {
        // Dropping the transaction releases the stock reserved above; the codes come off
        // the cart in a transaction of their own.
        drop(tx);
        let mut tx = db.write().await?;
        let refusal = discounts::refuse_unavailable(&mut tx, cart_id, &unavailable).await?;
        tx.commit().await?;
        metrics::counter!("backroom_checkouts_total", "outcome" => "discount_unavailable").increment(1);
        return Err(refusal);
    }
    tx.commit().await?;
    Ok(Reserved::Attempt(attempt))
}

/// Who pays and where the order goes: the cart's email (a signed-in customer's own when
/// it has none) and its shipping address.
fn buyer(caller: &Principal, cart: &carts::Cart) -> DomainResult<(String, Address)> {
    let mut checks = Checks::default();
    let email = match (&cart.email, caller) {
        (Some(email), _) => email.clone(),
        (None, Principal::Customer { email, .. }) => email.clone(),
        (None, _) => {
            checks.fail("email", "is required for a guest checkout");
            String::new()
        }
    };
    if cart.shipping_address.is_none() {
        checks.fail("shipping_address", "is required: send it here or set it on the cart");
    }
    checks.finish()?;
    let address = cart
        .shipping_address
        .clone()
        .ok_or_else(|| DomainError::Internal("checked above".to_owned()))?;
    Ok((email, address))
}

const UNSETTLED: [&str; 2] = ["pending", "requires_action"];

/// Step 3: records what the provider said of attempt `payment_id`, in one transaction.
/// Safe to race: only the caller that moves the attempt out of its unsettled state acts;
/// any other reads what the winner decided.
#[tracing::instrument(skip(db))]
pub async fn settle(db: &Store, payment_id: &str, outcome: ChargeOutcome) -> DomainResult<Settlement> {
    let mut tx = db.write().await?;
    let settlement = settle_within(&mut tx, payment_id, outcome).await?;
    // Committed even when nothing moved: what the winner wrote is then on disk (SQLite's
    // group commit) and visible to the reads that follow.
    tx.commit().await?;
    Ok(settlement)
}

/// [`settle`] inside the caller's transaction (a webhook records its event id in it too).
pub(super) async fn settle_within(tx: &mut Conn, payment_id: &str, outcome: ChargeOutcome) -> DomainResult<Settlement> {
    let now = Timestamp::now();
    // The order a charge places is named on the attempt by the same write that settles it.
    let order_id = ids::new_id("ord");
    let (from, change): (&[&str], PaymentMove<'_>) = match &outcome {
        ChargeOutcome::Captured { reference } | ChargeOutcome::Authorized { reference } => (
            &UNSETTLED,
            PaymentMove {
                status: match outcome {
                    ChargeOutcome::Authorized { .. } => PaymentStatus::Authorized.as_str(),
                    _ => PaymentStatus::Captured.as_str(),
                },
                provider_reference: Some(reference),
                order_id: Some(&order_id),
                ..PaymentMove::default()
            },
        ),
        ChargeOutcome::RequiresAction {
            reference,
            client_secret,
        } => (
            &UNSETTLED[..1],
            PaymentMove {
                status: PaymentStatus::RequiresAction.as_str(),
                provider_reference: Some(reference),
                client_secret: Some(client_secret),
                expires_at: Some(now.plus_seconds(ACTION_SECONDS).0),
                ..PaymentMove::default()
            },
        ),
        ChargeOutcome::Declined { decline_code } => (
            &UNSETTLED,
            PaymentMove {
                status: PaymentStatus::Failed.as_str(),
                decline_code: Some(decline_code),
                ..PaymentMove::default()
            },
        ),
        ChargeOutcome::Failed { .. } => (
            &UNSETTLED,
            PaymentMove {
                status: PaymentStatus::Failed.as_str(),
                ..PaymentMove::default()
            },
        ),
    };
    let Some(attempt) = store::move_payment(tx, payment_id, from, &change, now.0).await? else {
        let earlier = settled_earlier(tx, payment_id).await?;
        if matches!(
            outcome,
            ChargeOutcome::Captured { .. } | ChargeOutcome::Authorized { .. }
        ) && !matches!(earlier, Settlement::Placed { .. } | Settlement::Pending)
        {
            // The provider took money for an attempt Backroom had closed: no order holds
            // it, so staff must refund it at the provider.
            tracing::error!(
                payment_id,
                ?earlier,
                "the provider charged a closed payment attempt; refund it by hand"
            );
        }
        return Ok(earlier);
    };
    let priced = frozen_pricing(tx, &attempt).await?;
    Ok(match outcome {
        ChargeOutcome::Captured { .. } => {
            place_order(tx, &attempt, priced, order_id, PaymentStatus::Captured, now.0).await?
        }
        ChargeOutcome::Authorized { .. } => {
            place_order(tx, &attempt, priced, order_id, PaymentStatus::Authorized, now.0).await?
        }
        ChargeOutcome::RequiresAction { client_secret, .. } => Settlement::AwaitingAction { client_secret },
        ChargeOutcome::Declined { decline_code } => {
            release(tx, &attempt, &priced, now.0).await?;
            record_failure(tx, &attempt).await?;
            Settlement::Declined { decline_code }
        }
        ChargeOutcome::Failed { reason } => {
            release(tx, &attempt, &priced, now.0).await?;
            record_failure(tx, &attempt).await?;
            Settlement::Failed { reason }
        }
    })
}

/// Closes an attempt the customer abandoned (after the provider canceled its charge):
/// `canceled`, its stock and discount uses released, its cart open again.
pub(super) async fn settle_canceled(db: &Store, payment_id: &str) -> DomainResult<Settlement> {
    let now = Timestamp::now().0;
    let mut tx = db.write().await?;
    let change = PaymentMove {
        status: PaymentStatus::Canceled.as_str(),
        ..PaymentMove::default()
    };
    let Some(attempt) = store::move_payment(&mut tx, payment_id, &UNSETTLED, &change, now).await? else {
        let earlier = settled_earlier(&mut tx, payment_id).await?;
        tx.commit().await?;
        return Ok(earlier);
    };
    let priced = frozen_pricing(&mut tx, &attempt).await?;
    release(&mut tx, &attempt, &priced, now).await?;
    tx.commit().await?;
    Ok(Settlement::Canceled)
}

async fn settled_earlier(tx: &mut Conn, payment_id: &str) -> DomainResult<Settlement> {
    let attempt = store::find_payment(tx, payment_id)
        .await?
        .ok_or(DomainError::NotFound("payment"))?;
    Ok(settlement_of(&attempt))
}

/// What an attempt's row says was decided.
pub(super) fn settlement_of(attempt: &PaymentRow) -> Settlement {
    match (&attempt.order_id, PaymentStatus::parse(&attempt.status)) {
        (Some(order_id), _) => Settlement::Placed {
            order_id: order_id.clone(),
            placed: None,
        },
        (None, Some(PaymentStatus::Pending)) => Settlement::Pending,
        (None, Some(PaymentStatus::RequiresAction)) => Settlement::AwaitingAction {
            client_secret: attempt.client_secret.clone().unwrap_or_default(),
        },
        (None, Some(PaymentStatus::Canceled)) => Settlement::Canceled,
        (None, _) => match &attempt.decline_code {
            Some(decline_code) => Settlement::Declined {
                decline_code: decline_code.clone(),
            },
            None => Settlement::Failed {
                reason: "the payment attempt failed".to_owned(),
            },
        },
    }
}

/// Success: the order is made from the priced cart frozen on the attempt, the
/// reservation becomes a sale, the cart closes, and `order.paid` is written (or, for a
/// payment only authorized, `order.placed`). The order is assembled from what was written
/// rather than read back: the event and the customer's answer show the same.
async fn place_order(
    tx: &mut Conn,
    attempt: &PaymentRow,
    priced: PricedCart,
    order_id: String,
    payment: PaymentStatus,
    now: i64,
) -> DomainResult<Settlement> {
    if priced.totals.total.amount != attempt.amount {
        return Err(DomainError::Internal(format!(
            "payment {} captured {} but its cart was priced at {}",
            attempt.id, attempt.amount, priced.totals.total.amount
        )));
    }
    let totals = priced.totals;
    let order = OrderRow {
        id: order_id,
        number: order_store::next_order_number(tx).await?,
        customer_id: attempt.customer_id.clone(),
        email: attempt.email.clone(),
        status: OrderStatus::Paid.as_str().to_owned(),
        currency: priced.currency.to_string(),
        subtotal_amount: totals.subtotal.amount,
        discount_total_amount: totals.discount_total.amount,
        shipping_total_amount: totals.shipping_total.amount,
        tax_total_amount: totals.tax_total.amount,
        total_amount: totals.total.amount,
        payment_id: attempt.id.clone(),
        shipping_address: attempt.shipping_address.clone(),
        tracking_number: None,
        guest_token_hash: attempt.guest_token_hash.clone(),
        shipping_option: priced
            .shipping
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|error| DomainError::Internal(error.to_string()))?,
        tax_lines: serde_json::to_string(&priced.tax_lines)
            .map_err(|error| DomainError::Internal(error.to_string()))?,
        discounts: serde_json::to_string(&priced.discounts)
            .map_err(|error| DomainError::Internal(error.to_string()))?,
        prices_include_tax: priced.prices_include_tax,
        created_at: now,
        updated_at: now,
        // Read from the attempt by a join; here as the settlement left the attempt.
        payment_status: payment.as_str().to_owned(),
        payment_amount: attempt.amount,
        payment_refunded_amount: attempt.refunded_amount,
        payment_provider: attempt.provider.clone(),
        payment_reference: attempt.provider_reference.clone(),
    };
    order_store::insert_order(tx, &order).await?;
    let mut items = Vec::with_capacity(priced.lines.len());
    for (position, line) in priced.lines.iter().enumerate() {
        let item = OrderItemRow {
            id: ids::new_id("item"),
            order_id: order.id.clone(),
            position: position as i64,
            variant_id: line.variant_id.clone(),
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            unit_price_amount: line.unit_price.amount,
            line_total_amount: line.line_total.amount,
            discount_total_amount: line.discount().amount,
            tax_total_amount: line.tax().amount,
        };
        order_store::insert_order_item(tx, &item).await?;
        items.push(item);
    }
    discounts::keep_for_order(tx, &priced, &attempt.id, &order.id).await?;
    cart_store::set_cart_status(
        tx,
        &attempt.cart_id,
        CartStatus::CheckingOut.as_str(),
        CartStatus::CheckedOut.as_str(),
        Some(&order.id),
        now,
    )
    .await?;
    carts::announce_change(tx, &attempt.cart_id).await?;
    let kind = match payment {
        PaymentStatus::Authorized => EventKind::OrderPlaced,
        _ => EventKind::OrderPaid,
    };
    let order_id = order.id.clone();
    // A new order has no refunds.
    let placed = orders::assemble(order, items, Vec::new())?;
    events::record(tx, kind, Subject::Order(&placed)).await?;
    // Last: from here to the commit, every checkout of these variants waits for this one.
    inventory::move_lines(tx, &stock_lines(&priced), StockMove::Sell).await?;
    Ok(Settlement::Placed {
        order_id,
        placed: Some(Box::new(placed)),
    })
}

/// `payment.failed`, about the attempt as it failed.
async fn record_failure(tx: &mut Conn, attempt: &PaymentRow) -> DomainResult<()> {
    let failed = super::payment_attempts::attempt_view(attempt)?;
    events::record(tx, EventKind::PaymentFailed, Subject::Payment(&failed)).await?;
    Ok(())
}

/// Failure: the reservation is released and the cart opens again for another card.
async fn release(tx: &mut Conn, attempt: &PaymentRow, priced: &PricedCart, now: i64) -> DomainResult<()> {
    inventory::move_lines(tx, &stock_lines(priced), StockMove::Release).await?;
    discounts::give_back(tx, priced, &attempt.id).await?;
    cart_store::set_cart_status(
        tx,
        &attempt.cart_id,
        CartStatus::CheckingOut.as_str(),
        CartStatus::Open.as_str(),
        None,
        now,
    )
    .await?;
    carts::announce_change(tx, &attempt.cart_id).await?;
    Ok(())
}

/// The priced cart the customer checked out, kept on the attempt: its lines are the ones
/// reserved. Attempts made before it was kept on them (migration 0003) are priced from
/// their lines by the same function, as they were then.
async fn frozen_pricing(tx: &mut Conn, attempt: &PaymentRow) -> DomainResult<PricedCart> {
    if let Some(frozen) = &attempt.pricing {
        return serde_json::from_str(frozen).map_err(|_| super::catalog::corrupt("frozen pricing", frozen));
    }
    let lines = store::list_payment_lines(tx, &attempt.id).await?;
    let currency =
        Currency::parse(&attempt.currency).ok_or_else(|| super::catalog::corrupt("currency", &attempt.currency))?;
    let to_price = lines
        .iter()
        .map(|line| LineToPrice {
            id: format!("{}:{}", line.payment_id, line.position),
            variant_id: line.variant_id.clone(),
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            unit_price: Money::new(line.unit_price_amount, currency),
            weight_grams: 0,
            tax_class: STANDARD_TAX_CLASS.to_owned(),
            product_id: String::new(),
            category_ids: Vec::new(),
        })
        .collect();
    price_cart(currency, to_price, &PricingContext::default()).map_err(|error| DomainError::Internal(error.to_string()))
}

/// An attempt's lines as `(variant, units)`, for the stock moves.
fn stock_lines(priced: &PricedCart) -> Vec<(String, i64)> {
    priced
        .lines
        .iter()
        .map(|line| (line.variant_id.clone(), line.quantity))
        .collect()
}

fn new_guest_token() -> String {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    use base64::Engine;
    format!("got_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Reconciles attempts left unsettled past their time: `pending` past the reservation (a
/// process died between steps 1 and 3, or the provider's answer was lost), or waiting
/// for a customer who did not finish their action. Each is settled with what the
/// provider says; an action still unfinished is canceled at the provider, releasing the
/// stock. No live process still waits on a charge it reconciles: the reservation outlasts
/// the provider timeout. Returns how many were settled.
#[tracing::instrument(skip_all)]
pub async fn recover_pending(db: &Store, provider: &Payments) -> DomainResult<usize> {
    let now = Timestamp::now();
    let stale = {
        let mut conn = db.read().await?;
        store::list_expired_unsettled(&mut conn, now.0, provider.name(), 100).await?
    };
    let mut settled = 0;
    for attempt in stale {
        // One attempt that cannot be settled now must not hold up the others.
        match recover_one(db, provider, &attempt).await {
            Ok(Settlement::Pending) => {}
            Ok(_) => settled += 1,
            Err(error) => tracing::warn!(payment_id = %attempt.id, %error, "payment attempt not settled yet"),
        }
    }
    Ok(settled)
}

async fn recover_one(db: &Store, provider: &Payments, attempt: &PaymentRow) -> DomainResult<Settlement> {
    let reference = attempt.provider_reference.as_deref();
    let unknown = |error: ProviderError| DomainError::PaymentOutcomeUnknown(error.0);
    match ask_provider(provider, attempt, reference).await.map_err(unknown)? {
        ChargeOutcome::RequiresAction { reference, .. } => abandon_action(db, provider, &attempt.id, &reference).await,
        outcome => {
            let outcome = refusal_closed_at_provider(provider, attempt, reference, outcome).await?;
            settle(db, &attempt.id, outcome).await
        }
    }
}

/// Cancels an attempt waiting for its customer's action, at the provider first: only an
/// attempt whose charge can no longer happen releases its stock.
pub(super) async fn abandon_action(
    db: &Store,
    provider: &Payments,
    payment_id: &str,
    reference: &str,
) -> DomainResult<Settlement> {
    match provider.cancel(payment_id, reference).await {
        Ok(super::payments::StepOutcome::Done { .. }) => settle_canceled(db, payment_id).await,
        // Refused: the charge went on meanwhile (the customer finished it); the next
        // look at the provider settles it.
        Ok(super::payments::StepOutcome::Refused { .. }) => Ok(Settlement::Pending),
        Err(error) => Err(DomainError::PaymentOutcomeUnknown(error.0)),
    }
}
