//! Payment attempts left pending (a process died between checkout's steps, or a provider
//! hung) are settled with what the provider says; refunds a provider failed are retried.

use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::{checkout, orders};

pub async fn run(state: &AppState) {
    let settled = checkout::recover_pending(&state.store, &state.payments).await;
    report(
        "settle pending payment attempts",
        settled.map(|n| n as u64),
        Level::INFO,
    );
    let refund_grace = state.checkout.reservation_seconds;
    let refunded = orders::retry_pending_refunds(&state.store, &state.payments, refund_grace).await;
    report("complete pending refunds", refunded.map(|n| n as u64), Level::INFO);
}
