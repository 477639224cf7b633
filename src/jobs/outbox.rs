//! Delivers the outbox's due messages, each by the means its kind needs (emails through
//! the mailer), each at most once at a time across every process.

use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::DomainResult;
use crate::domain::outbox::{self, Message};

/// Messages claimed at once.
const BATCH: i64 = 5;

pub async fn run(state: &AppState) {
    report("deliver outbox messages", deliver_outbox(state).await, Level::INFO);
}

/// Delivers due messages; returns how many went out. A failure is retried later.
pub async fn deliver_outbox(state: &AppState) -> DomainResult<u64> {
    let mut delivered = 0;
    for claimed in outbox::claim_due(&state.store, BATCH).await? {
        let outcome = match &claimed.message {
            Ok(Message::Email(email)) => state.mailer.send(email).await,
            Err(unreadable) => Err(unreadable.clone()),
        };
        if outcome.is_ok() {
            delivered += 1;
        }
        outbox::record_delivery(&state.store, &claimed, outcome).await?;
    }
    Ok(delivered)
}
