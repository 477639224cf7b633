//! Domain events. Each is written to the `events` table inside the transaction that made
//! the change, and announced to the live streams (`/v1/orders/{id}/events`,
//! `/v1/admin/events`) once committed. The rows are the truth; an announcement is only a
//! wake-up, so a subscriber always re-reads the order it is told about.
//!
//! On SQLite (one process) announcements go straight onto this process's bus after commit.
//! On PostgreSQL, where several processes share the database, the transaction also issues
//! `NOTIFY backroom_events` (delivered only if it commits), and every process listens and
//! puts what it hears on its own bus (`forward_notifications`), its own events included.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::ids;
use super::time::Timestamp;
use crate::store::{Conn, Store, StoreResult, dialect, events as store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// An order whose money is only authorized (manual capture); `order.paid` follows at
    /// its capture.
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[serde(rename = "order.fulfilled")]
    OrderFulfilled,
    #[serde(rename = "order.canceled")]
    OrderCanceled,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "order.placed",
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderFulfilled => "order.fulfilled",
            EventKind::OrderCanceled => "order.canceled",
            EventKind::OrderRefunded => "order.refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub order_id: String,
    pub customer_id: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
}

/// Fans events out to live subscribers in this process.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    /// False when announcements arrive through the database instead (PostgreSQL).
    publishes_locally: bool,
}

impl EventBus {
    pub fn for_store(store: &Store) -> Self {
        let (sender, _) = broadcast::channel(1024);
        EventBus {
            sender,
            publishes_locally: matches!(store, Store::Sqlite { .. }),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// Announces committed events (on PostgreSQL their notifications do it instead).
    pub fn publish(&self, events: Vec<Event>) {
        if self.publishes_locally {
            events.into_iter().for_each(|event| self.deliver(event));
        }
    }

    /// Hands an event to this process's subscribers. Having none is normal.
    pub fn deliver(&self, event: Event) {
        let _ = self.sender.send(event);
    }
}

/// Writes an event row in the caller's transaction (and, on PostgreSQL, its notification);
/// publish it after commit.
pub async fn record(conn: &mut Conn, kind: EventKind, order_id: &str, customer_id: Option<&str>) -> StoreResult<Event> {
    let event = Event {
        id: ids::new_id("evt"),
        kind,
        order_id: order_id.to_owned(),
        customer_id: customer_id.map(str::to_owned),
        created_at: Timestamp::now().0,
    };
    store::insert_event(conn, &event.id, kind.as_str(), order_id, customer_id, event.created_at).await?;
    let payload =
        serde_json::to_string(&event).map_err(|error| crate::store::StoreError::Corrupt(error.to_string()))?;
    dialect::notify(conn, &payload).await?;
    Ok(event)
}

/// Puts every event notification the listener hears, from any process, on `bus`, until
/// the database closes.
pub async fn forward_notifications(mut listener: dialect::EventListener, bus: EventBus) {
    while let Some(payload) = listener.next_payload().await {
        match serde_json::from_str::<Event>(&payload) {
            Ok(event) => bus.deliver(event),
            Err(error) => tracing::warn!(%error, "ignoring an event notification that does not parse"),
        }
    }
}
