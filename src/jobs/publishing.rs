//! Publishes the pages and posts scheduled for now or earlier: once each, whichever process
//! gets there first (see `domain::content::publish_due`).

use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::content;

pub async fn run(state: &AppState) {
    report(
        "publish scheduled content",
        content::publish_due(&state.store).await,
        Level::INFO,
    );
}
