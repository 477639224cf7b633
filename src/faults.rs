//! Fault injection for the crash-safety tests (issue: stock and money stay right under
//! crashes). A test starts `backroom serve` with `BACKROOM_TEST_FAULT` naming a point of
//! checkout; the process then dies there at once, as a SIGKILL would take it: no unwinding,
//! no destructors, no response. Nothing else can switch it on, and unset it costs one
//! load of a `OnceLock` per checkout.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Step 1 committed (stock reserved, attempt pending); the provider not yet called.
    AfterReservation,
    /// The provider captured; step 3 not yet run.
    AfterCapture,
    /// Step 3 committed (the order exists); the response not yet sent or stored.
    BeforeResponse,
}

impl FaultPoint {
    fn parse(value: &str) -> Option<FaultPoint> {
        match value {
            "after_reservation" => Some(FaultPoint::AfterReservation),
            "after_capture" => Some(FaultPoint::AfterCapture),
            "before_response" => Some(FaultPoint::BeforeResponse),
            _ => None,
        }
    }
}

static ARMED: OnceLock<Option<FaultPoint>> = OnceLock::new();

/// Reads `BACKROOM_TEST_FAULT` once, at the start of `backroom serve`.
pub fn arm_from_environment() {
    let point = std::env::var("BACKROOM_TEST_FAULT")
        .ok()
        .and_then(|value| FaultPoint::parse(&value));
    if let Some(point) = point {
        tracing::warn!(
            ?point,
            "fault injection armed: this process will abort at that point of checkout"
        );
    }
    let _ = ARMED.set(point);
}

/// Aborts the process when `point` is the armed fault.
pub fn crash_if(point: FaultPoint) {
    if ARMED.get().copied().flatten() == Some(point) {
        std::process::abort();
    }
}
