//! Background work of every process, one task per file, each working through the domain:
//! [`recovery`] settles payment attempts and refunds left pending, [`expiry`] ends what
//! has expired, [`cleanup`] deletes records past their keeping, [`outbox`] delivers
//! the outbox's messages, and [`publishing`] publishes scheduled pages and posts, all once
//! per interval; [`webhooks`] delivers merchant webhooks, woken by events. Every task is
//! safe to run on several processes at once: settling is a conditional update that only
//! one wins, and messages and deliveries are claimed with `FOR UPDATE SKIP LOCKED`.

mod cleanup;
mod expiry;
mod outbox;
mod publishing;
mod recovery;
mod webhooks;

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::AppState;

pub use outbox::deliver_outbox;
pub use webhooks::deliver_webhooks;

/// Runs every task once per `interval`, and the webhook worker, until the server shuts
/// down; then waits for the webhook deliveries under way.
pub fn spawn(state: AppState, interval: Duration) -> JoinHandle<()> {
    let webhooks = webhooks::spawn(state.clone());
    tokio::spawn(async move {
        let mut webhooks = AbortOnDrop(webhooks);
        let mut shutdown = state.shutdown.clone();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = ticker.tick() => run_once(&state).await,
            }
        }
        let _ = (&mut webhooks.0).await;
    })
}

/// One round of every task (tests call it to run the jobs without waiting).
pub async fn run_once(state: &AppState) {
    recovery::run(state).await;
    expiry::run(state).await;
    outbox::run(state).await;
    publishing::run(state).await;
    cleanup::run(state).await;
}

/// Stops the webhook worker with the interval's task, should that be aborted.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Logs a task's outcome: what it did at `level`, or why it failed.
fn report(task: &str, outcome: crate::domain::DomainResult<u64>, level: tracing::Level) {
    match outcome {
        Ok(0) => {}
        Ok(count) if level == tracing::Level::INFO => tracing::info!(task, count, "background task done"),
        Ok(count) => tracing::debug!(task, count, "background task done"),
        Err(error) => tracing::error!(task, %error, "background task failed"),
    }
}
