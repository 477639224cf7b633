//! Delivers the outbox's due messages, each by the means its kind needs (emails through
//! the mailer), each at most once at a time across every process.

use futures_util::future::join_all;
use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::DomainResult;
use crate::domain::outbox::{self, CLAIM, Claimed, Message, SENDS_AT_ONCE};

/// Claims made in one round at most, so that a backlog growing as fast as it is sent
/// still leaves the other background tasks their turn: 1,000 messages a round.
const CLAIMS_PER_ROUND: usize = 20;

pub async fn run(state: &AppState) {
    report("deliver outbox messages", deliver_outbox(state).await, Level::INFO);
}

/// Delivers the due messages, [`SENDS_AT_ONCE`] at a time, each group's outcomes recorded
/// in one transaction; returns how many went out. A failure is retried later.
pub async fn deliver_outbox(state: &AppState) -> DomainResult<u64> {
    let mut delivered = 0;
    for _ in 0..CLAIMS_PER_ROUND {
        let claimed = outbox::claim_due(&state.store, CLAIM).await?;
        for group in claimed.chunks(SENDS_AT_ONCE) {
            let sent = join_all(group.iter().map(|message| send(state, message))).await;
            delivered += sent.iter().filter(|outcome| outcome.is_ok()).count() as u64;
            let outcomes: Vec<_> = group.iter().zip(sent).collect();
            outbox::record_deliveries(&state.store, &outcomes).await?;
        }
        if (claimed.len() as i64) < CLAIM {
            break;
        }
    }
    Ok(delivered)
}

async fn send(state: &AppState, claimed: &Claimed) -> Result<(), String> {
    match &claimed.message {
        Ok(Message::Email(email)) => state.mailer.send(email).await,
        Err(unreadable) => Err(unreadable.clone()),
    }
}
