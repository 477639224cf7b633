//! Background work of every process: settling payment attempts left pending (a crash
//! between checkout's steps, or a provider that hung), releasing expired reservations,
//! and deleting idempotency records past their 24 hours. Each step is safe to run on
//! several processes at once: settling is a conditional update that only one wins.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::domain::accounts::password_reset::Email;
use crate::domain::accounts::sessions;
use crate::domain::time::Timestamp;
use crate::domain::{checkout, idempotency, orders};
use crate::store::outbox;

pub fn spawn(state: AppState, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = ticker.tick() => run_once(&state).await,
            }
        }
    })
}

pub async fn run_once(state: &AppState) {
    match checkout::recover_pending(&state.store, &state.payments, &state.events).await {
        Ok(0) => {}
        Ok(settled) => tracing::info!(settled, "settled payment attempts left pending"),
        Err(error) => tracing::error!(%error, "payment recovery failed"),
    }
    let refund_grace = state.checkout.reservation_seconds;
    match orders::retry_pending_refunds(&state.store, &state.payments, &state.events, refund_grace).await {
        Ok(0) => {}
        Ok(completed) => tracing::info!(completed, "completed refunds left pending"),
        Err(error) => tracing::error!(%error, "refund recovery failed"),
    }
    match sessions::delete_expired(&state.store).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted expired sessions and old login failures"),
        Err(error) => tracing::error!(%error, "session cleanup failed"),
    }
    match deliver_outbox(state).await {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "delivered outbox messages"),
        Err(error) => tracing::error!(%error, "outbox delivery failed"),
    }
    match idempotency::delete_expired(&state.store).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted expired idempotency records"),
        Err(error) => tracing::error!(%error, "idempotency cleanup failed"),
    }
}

/// Delivers due outbox messages, each at most once at a time across every process; a
/// failure is retried later, waiting longer after each attempt.
pub async fn deliver_outbox(state: &AppState) -> Result<usize, crate::store::StoreError> {
    let now = Timestamp::now();
    let due = outbox::claim_due(&state.store, now.0, now.plus_seconds(LEASE_SECONDS).0, BATCH).await?;
    let mut sent = 0;
    for message in due {
        let outcome = match message.kind.as_str() {
            "email" => match serde_json::from_str::<Email>(&message.payload) {
                Ok(email) => state.mailer.send(&email).await,
                Err(error) => Err(format!("unreadable email payload: {error}")),
            },
            other => Err(format!("unknown outbox message kind {other:?}")),
        };
        match outcome {
            Ok(()) => {
                outbox::mark_delivered(&state.store, &message.id, Timestamp::now().0).await?;
                sent += 1;
            }
            Err(error) => {
                let wait = RETRY_BASE_SECONDS * (message.attempts + 1).pow(2);
                tracing::warn!(message_id = %message.id, attempts = message.attempts + 1, %error, "outbox delivery failed; will retry");
                outbox::mark_failed(&state.store, &message.id, &error, Timestamp::now().plus_seconds(wait).0).await?;
            }
        }
    }
    Ok(sent)
}

/// Messages claimed at once.
const BATCH: i64 = 5;
/// A claimed message is not claimed again for this long: longer than a whole batch of
/// sends at the mailer's 10 s timeout, so no other process sends it meanwhile.
const LEASE_SECONDS: i64 = 120;
/// Retries wait 10 s, 40 s, 90 s... after the 1st, 2nd, 3rd failure.
const RETRY_BASE_SECONDS: i64 = 10;
