//! Domain events. Each is written to the `events` table inside the transaction that made
//! the change, then published on the in-process bus after commit, which wakes the live
//! streams (`/v1/orders/{id}/events`, `/v1/admin/events`). The rows are the truth; the
//! bus is only a wake-up, so a subscriber always re-reads the order it is told about.

use tokio::sync::broadcast;

use super::ids;
use super::time::Timestamp;
use crate::store::{Conn, StoreResult, events as store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    OrderPaid,
    OrderFulfilled,
    OrderCanceled,
    OrderRefunded,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderFulfilled => "order.fulfilled",
            EventKind::OrderCanceled => "order.canceled",
            EventKind::OrderRefunded => "order.refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub order_id: String,
    pub customer_id: Option<String>,
    pub created_at: Timestamp,
}

/// Fans events out to live subscribers in this process.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(1024);
        EventBus { sender }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// Announces committed events. Having no subscriber is normal, not an error.
    pub fn publish(&self, events: Vec<Event>) {
        for event in events {
            let _ = self.sender.send(event);
        }
    }
}

/// Writes an event row in the caller's transaction; publish it after commit.
pub async fn record(conn: &mut Conn, kind: EventKind, order_id: &str, customer_id: Option<&str>) -> StoreResult<Event> {
    let event = Event {
        id: ids::new_id("evt"),
        kind,
        order_id: order_id.to_owned(),
        customer_id: customer_id.map(str::to_owned),
        created_at: Timestamp::now(),
    };
    store::insert_event(
        conn,
        &event.id,
        kind.as_str(),
        order_id,
        customer_id,
        event.created_at.0,
    )
    .await?;
    Ok(event)
}
