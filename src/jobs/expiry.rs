//! Ends what has expired: sessions past their time, login failures past the throttle's
//! window, password reset tokens past their 30 minutes.

use tracing::Level;

use super::report;
use crate::app::AppState;
use crate::domain::accounts::{password_reset, sessions};

pub async fn run(state: &AppState) {
    report(
        "delete expired sessions",
        sessions::delete_expired(&state.store).await,
        Level::DEBUG,
    );
    report(
        "delete expired password resets",
        password_reset::delete_expired(&state.store).await,
        Level::DEBUG,
    );
}
