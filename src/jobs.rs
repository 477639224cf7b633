//! Background work of every process: settling payment attempts left pending (a crash
//! between checkout's steps, or a provider that hung), releasing expired reservations,
//! and deleting idempotency records past their 24 hours. Each step is safe to run on
//! several processes at once: settling is a conditional update that only one wins.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::domain::{auth, checkout, idempotency, orders};
use crate::http::AppState;

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
    match auth::delete_expired(&state.store).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted expired sessions and old login failures"),
        Err(error) => tracing::error!(%error, "session cleanup failed"),
    }
    match idempotency::delete_expired(&state.store).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted expired idempotency records"),
        Err(error) => tracing::error!(%error, "idempotency cleanup failed"),
    }
}
