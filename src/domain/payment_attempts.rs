//! A checkout's payment attempt after the checkout request: read, confirmed once the
//! customer finished an action (3-D Secure), canceled, or settled by the provider's
//! webhook. Every path ends in `checkout::settle`, the one state machine per payment.

use super::checkout::{self, CheckoutOutcome, Settlement};
use super::money::{Currency, Money};
use super::orders::PaymentStatus;
use super::payments::{ChargeOutcome, Payments, ProviderEvent};
use super::time::Timestamp;
use super::{DomainError, DomainResult, Principal, carts};
use crate::store::Store;
use crate::store::payments::{self as store, PaymentRow};

/// A payment attempt as its customer sees it.
#[derive(Debug, Clone)]
pub struct PaymentAttempt {
    pub id: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub order_id: Option<String>,
    /// While the customer must act: what their browser needs (Stripe's client secret).
    pub client_secret: Option<String>,
}

/// The attempt, if `caller` may see its cart (the cart's access rule), else `NotFound`.
pub async fn get_payment(db: &Store, caller: &Principal, id: &str) -> DomainResult<PaymentAttempt> {
    attempt_view(&find_accessible(db, caller, id).await?)
}

/// After the customer finished their action: the order (placed now, or already), a
/// decline, or the attempt still waiting for the action.
#[tracing::instrument(skip(db, provider, caller))]
pub async fn confirm(db: &Store, provider: &Payments, caller: &Principal, id: &str) -> DomainResult<CheckoutOutcome> {
    let attempt = find_accessible(db, caller, id).await?;
    let settlement = match checkout::settlement_of(&attempt) {
        Settlement::AwaitingAction { .. } => settle_as_the_provider_says(db, provider, &attempt).await?,
        // Its checkout request is still waiting for the provider, or the recovery job
        // will learn the outcome: asking now could race the charge itself.
        Settlement::Pending => return Err(still_processing()),
        earlier => earlier,
    };
    checkout::outcome_of(db, &attempt.id, settlement).await
}

/// Abandons an attempt waiting for the customer's action: its charge is canceled at the
/// provider, its stock released and its cart open again. An attempt already closed is
/// answered as it is; one that became an order is a conflict.
#[tracing::instrument(skip(db, provider, caller))]
pub async fn cancel(db: &Store, provider: &Payments, caller: &Principal, id: &str) -> DomainResult<PaymentAttempt> {
    let attempt = find_accessible(db, caller, id).await?;
    let settlement = match checkout::settlement_of(&attempt) {
        Settlement::AwaitingAction { .. } => {
            let reference = attempt.provider_reference.as_deref().ok_or_else(|| {
                DomainError::Internal(format!("payment {id} waits for an action it has no reference for"))
            })?;
            match checkout::abandon_action(db, provider, &attempt.id, reference).await? {
                // The customer finished the action meanwhile: settled as the provider says.
                Settlement::Pending => settle_as_the_provider_says(db, provider, &attempt).await?,
                settled => settled,
            }
        }
        Settlement::Pending => return Err(still_processing()),
        earlier => earlier,
    };
    if let Settlement::Placed { .. } = settlement {
        return Err(DomainError::conflict(
            "the payment went through and its order is placed; cancel the order instead",
        ));
    }
    get_payment(db, caller, id).await
}

/// Applies a verified provider event: a redelivered event, an event of no payment of
/// Backroom's, and one whose amount is not the attempt's change nothing. The event id is
/// recorded in the transaction that settles, so an event is applied exactly once. A
/// decline is applied once the provider's charge is canceled (see
/// `checkout::refusal_closed_at_provider`); if that cannot be done now, the event is not
/// recorded and the error makes the provider send it again.
#[tracing::instrument(skip_all, fields(event_id = %event.id, kind = %event.kind))]
pub async fn apply_provider_event(db: &Store, provider: &Payments, event: ProviderEvent) -> DomainResult<()> {
    let attempt = {
        let mut conn = db.read().await?;
        match &event.payment_id {
            Some(payment_id) => store::find_payment(&mut conn, payment_id).await?,
            None => store::find_payment_by_reference(&mut conn, &event.reference).await?,
        }
    };
    let ours = attempt.filter(|attempt| {
        attempt.provider == provider.name()
            && attempt
                .provider_reference
                .as_deref()
                .is_none_or(|reference| reference == event.reference)
    });
    let (Some(attempt), Some(outcome)) = (ours, event.outcome) else {
        return Ok(());
    };
    let unsettled = matches!(
        checkout::settlement_of(&attempt),
        Settlement::Pending | Settlement::AwaitingAction { .. }
    );
    let outcome = if unsettled {
        checkout::refusal_closed_at_provider(provider, &attempt, Some(&event.reference), outcome).await?
    } else {
        outcome
    };
    let mut tx = db.write().await?;
    let now = Timestamp::now().0;
    if !store::record_provider_event(&mut tx, &event.id, provider.name(), &event.kind, now).await? {
        tx.commit().await?;
        return Ok(());
    }
    if matches!(
        outcome,
        ChargeOutcome::Captured { .. } | ChargeOutcome::Authorized { .. }
    ) && event.amount != Some(money_of(&attempt)?)
    {
        tracing::error!(payment_id = %attempt.id, amount = ?event.amount, "a provider event's amount is not the payment's; ignored");
        tx.commit().await?;
        return Ok(());
    }
    checkout::settle_within(&mut tx, &attempt.id, outcome).await?;
    tx.commit().await?;
    Ok(())
}

/// Asks the provider what became of the attempt's charge and settles that (a refusal
/// once the provider's charge is canceled).
async fn settle_as_the_provider_says(
    db: &Store,
    provider: &Payments,
    attempt: &PaymentRow,
) -> DomainResult<Settlement> {
    let reference = attempt.provider_reference.as_deref();
    let outcome = checkout::ask_provider(provider, attempt, reference)
        .await
        .map_err(|error| DomainError::PaymentOutcomeUnknown(error.0))?;
    let outcome = checkout::refusal_closed_at_provider(provider, attempt, reference, outcome).await?;
    checkout::settle(db, &attempt.id, outcome).await
}

async fn find_accessible(db: &Store, caller: &Principal, id: &str) -> DomainResult<PaymentRow> {
    let mut conn = db.read().await?;
    let attempt = store::find_payment(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("payment"))?;
    carts::find_accessible_cart(&mut conn, caller, &attempt.cart_id)
        .await
        .map_err(|_| DomainError::NotFound("payment"))?;
    Ok(attempt)
}

fn money_of(attempt: &PaymentRow) -> DomainResult<Money> {
    let currency =
        Currency::parse(&attempt.currency).ok_or_else(|| super::catalog::corrupt("currency", &attempt.currency))?;
    Ok(Money::new(attempt.amount, currency))
}

pub(super) fn attempt_view(attempt: &PaymentRow) -> DomainResult<PaymentAttempt> {
    let status = PaymentStatus::parse(&attempt.status)
        .ok_or_else(|| super::catalog::corrupt("payment status", &attempt.status))?;
    Ok(PaymentAttempt {
        id: attempt.id.clone(),
        status,
        amount: money_of(attempt)?,
        order_id: attempt.order_id.clone(),
        client_secret: (status == PaymentStatus::RequiresAction)
            .then(|| attempt.client_secret.clone())
            .flatten(),
    })
}

fn still_processing() -> DomainError {
    DomainError::conflict("the payment is still being processed; ask again in a moment")
}
