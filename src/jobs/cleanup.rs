//! Deletes records past their keeping: idempotency records after 24 hours, delivered
//! outbox messages after a day.

use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::{idempotency, outbox};

pub async fn run(state: &AppState) {
    report(
        "delete expired idempotency records",
        idempotency::delete_expired(&state.store).await,
        Level::DEBUG,
    );
    report(
        "delete delivered outbox messages",
        outbox::delete_delivered(&state.store).await,
        Level::DEBUG,
    );
}
