//! Delivers merchant webhooks: claims due deliveries and sends each on a task of its own,
//! at most [`IN_FLIGHT`] at once, so that one slow endpoint (each gets one delivery at a
//! time) never holds up the others. It looks for work when a delivery is written on any
//! process, when one finishes, and when the next retry is due; and at least once a minute,
//! should a notification have been lost. A claim is a write, so it is made only when a
//! read says something is due: a shop without webhooks costs one read a minute.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use crate::app::AppState;
use crate::domain::DomainResult;
use crate::domain::events::{Notice, Wakeups};
use crate::domain::webhooks::{self, AttemptOutcome};

/// Deliveries sent at once by one process.
const IN_FLIGHT: usize = 32;
/// The longest the worker sleeps without looking.
const LONGEST_NAP: Duration = Duration::from_secs(60);

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wakeups = state.events.subscribe();
        let mut shutdown = state.shutdown.clone();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut sending: JoinSet<()> = JoinSet::new();
        loop {
            let due = webhooks::next_due_in(&state.store).await;
            if matches!(due, Ok(Some(wait)) if wait.is_zero())
                && let Err(error) = claim_and_send(&state, &slots, &mut sending).await
            {
                tracing::error!(%error, "claiming webhook deliveries failed");
            }
            let nap = match due {
                // Due now, but every slot is busy or an endpoint's delivery is under way:
                // a finished delivery wakes the worker before this.
                Ok(Some(wait)) if wait.is_zero() => Duration::from_secs(1),
                Ok(Some(wait)) => wait.min(LONGEST_NAP),
                Ok(None) => LONGEST_NAP,
                Err(_) => Duration::from_secs(1),
            };
            tokio::select! {
                _ = shutdown.changed() => break,
                more = work_or_nap(&mut wakeups, &mut sending, nap) => if !more { break },
            }
        }
        // Deliveries under way finish (each within its 15 s) and are recorded, instead of
        // going out again from another process once their lease is over.
        while sending.join_next().await.is_some() {}
    })
}

/// Waits until there may be work: an event written, a delivery retried by hand or
/// finished, or `nap` over. False once the bus is gone.
async fn work_or_nap(wakeups: &mut Wakeups, sending: &mut JoinSet<()>, nap: Duration) -> bool {
    let sleep = tokio::time::sleep(nap);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            Some(_) = sending.join_next(), if !sending.is_empty() => return true,
            notice = wakeups.next() => match notice {
                Some(Notice::Deliveries | Notice::Gap) => return true,
                Some(_) => {}
                None => return false,
            },
            () = &mut sleep => return true,
        }
    }
}

async fn claim_and_send(state: &AppState, slots: &Arc<Semaphore>, sending: &mut JoinSet<()>) -> DomainResult<()> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(());
    }
    for claimed in webhooks::claim_due(&state.store, state.webhook_lease, free as i64).await? {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let state = state.clone();
        sending.spawn(async move {
            let _slot = slot;
            if let Err(error) = webhooks::attempt(&state.store, &state.webhook_client, claimed).await {
                tracing::error!(%error, "a webhook delivery could not be recorded; it is retried after its lease");
            }
        });
    }
    Ok(())
}

/// Sends every delivery due now, one after another, and returns how many succeeded: how
/// tests see deliveries go out without waiting for the worker.
pub async fn deliver_webhooks(state: &AppState) -> DomainResult<u64> {
    let mut succeeded = 0;
    loop {
        let claimed = webhooks::claim_due(&state.store, state.webhook_lease, 8).await?;
        if claimed.is_empty() {
            return Ok(succeeded);
        }
        for delivery in claimed {
            if webhooks::attempt(&state.store, &state.webhook_client, delivery).await? == AttemptOutcome::Succeeded {
                succeeded += 1;
            }
        }
    }
}
