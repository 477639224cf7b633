//! Domain events (contract: Events and webhooks). Each is written to the `events` table
//! inside the transaction that made the change, with a snapshot of what it is about, and
//! is the one source of the live streams, the event log, the merchant webhooks and the
//! customer's order emails: a webhook delivery and an email are written beside their
//! event, in the same transaction.
//!
//! Streams read the rows. What wakes them is a notice ([`Notice`]) the transaction sends
//! when it commits (`dialect::notify`): on SQLite straight to this process's listeners, on
//! PostgreSQL through `NOTIFY`, heard by every process. Where notices may have been lost
//! (the listener's connection dropped, a subscriber fell behind) every subscriber hears
//! [`Notice::Gap`] and looks at the rows again, so a lost notice delays an event and
//! never loses it.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::accounts::Customer;
use super::catalog::Product;
use super::catalog_changes::CatalogChanges;
use super::orders::Order;
use super::outbox::{self, Message};
use super::payment_attempts::PaymentAttempt;
use super::time::Timestamp;
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, ids, order_emails, webhooks};
use crate::store::dialect::{Heard, Notifications};
use crate::store::events::{self as store, EventRow, NewEvent, StreamCursor};
use crate::store::{Conn, Store, StoreError, dialect};

macro_rules! event_kinds {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// The types of the contract, and `webhook.test`, sent only to the endpoint a
        /// staff member tests.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind { $($variant),* }

        impl EventKind {
            pub const ALL: &[EventKind] = &[$(EventKind::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name),* }
            }
        }
    };
}

event_kinds! {
    OrderPlaced => "order.placed",
    OrderPaid => "order.paid",
    OrderFulfilled => "order.fulfilled",
    OrderCanceled => "order.canceled",
    OrderRefunded => "order.refunded",
    PaymentFailed => "payment.failed",
    ProductCreated => "product.created",
    ProductUpdated => "product.updated",
    InventoryLow => "inventory.low",
    InventoryOutOfStock => "inventory.out_of_stock",
    CustomerCreated => "customer.created",
    WebhookTest => "webhook.test",
}

impl EventKind {
    pub fn parse(value: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|kind| kind.as_str() == value)
    }

    /// Whether an event of this kind is about an order (and its order stream wakes).
    pub fn is_about_an_order(self) -> bool {
        self.as_str().starts_with("order.")
    }
}

/// A variant's stock when an `inventory.*` event fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockSnapshot {
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
}

/// What an event is about, as it is when the event is written.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Order(&'a Order),
    Product(&'a Product),
    Customer(&'a Customer),
    Stock(&'a StockSnapshot),
    Payment(&'a PaymentAttempt),
    /// A test sent to one webhook endpoint.
    WebhookTest {
        endpoint_id: &'a str,
    },
}

impl Subject<'_> {
    fn id(&self) -> &str {
        match self {
            Subject::Order(order) => &order.id,
            Subject::Product(product) => &product.id,
            Subject::Customer(customer) => &customer.id,
            Subject::Stock(stock) => &stock.variant_id,
            Subject::Payment(payment) => &payment.id,
            Subject::WebhookTest { endpoint_id } => endpoint_id,
        }
    }
}

/// Turns a subject into the JSON the API shows for it.
pub type Shapes = fn(&Subject<'_>) -> serde_json::Value;

static SHAPES: OnceLock<Shapes> = OnceLock::new();

/// Registers how subjects look in the API. The HTTP layer owns those shapes and registers
/// them before anything is served; the domain, below it, only calls them.
pub fn register_shapes(shapes: Shapes) {
    let _ = SHAPES.set(shapes);
}

/// An event as it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    /// Its type: one of [`EventKind`], kept as text so that events of a newer build still read.
    pub kind: String,
    pub subject_id: Option<String>,
    pub created_at: Timestamp,
    pub data: serde_json::Value,
}

impl Event {
    fn from_row(row: EventRow) -> DomainResult<Event> {
        let data = serde_json::from_str(&row.data).map_err(|_| super::catalog::corrupt("event data", &row.data))?;
        Ok(Event {
            id: row.id,
            kind: row.kind,
            subject_id: row.subject_id,
            created_at: Timestamp(row.created_at),
            data,
        })
    }
}

/// What a committed transaction tells the live streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// An event row was written.
    Event {
        id: String,
        kind: String,
        subject_id: String,
    },
    /// What can be bought of a product's variants changed.
    Stock { product_id: String },
    /// The public catalog changed in a way no product's event tells: a category, the
    /// shop's currencies.
    Catalog,
    /// A cart changed.
    Cart { cart_id: String },
    /// Deliveries of webhooks are due now (one retried by hand).
    Deliveries,
    /// Notices may have been missed: every stream looks at its rows again.
    Gap,
}

/// Fans notices out to this process's live streams, and tells its catalog caches.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Notice>,
    catalog: Arc<CatalogChanges>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(4096);
        EventBus {
            sender,
            catalog: Arc::default(),
        }
    }
}

impl EventBus {
    /// The catalog's changes this bus hears of: every process's on PostgreSQL.
    pub fn catalog_changes(&self) -> Arc<CatalogChanges> {
        self.catalog.clone()
    }

    pub fn subscribe(&self) -> Wakeups {
        Wakeups {
            receiver: self.sender.subscribe(),
        }
    }

    /// Puts everything `notifications` hears on the bus, until the database closes.
    pub async fn forward(self, mut notifications: Notifications) {
        while let Some(heard) = notifications.next().await {
            let notice = match heard {
                Heard::Payload(payload) => match serde_json::from_str::<Notice>(&payload) {
                    Ok(notice) => notice,
                    Err(error) => {
                        tracing::warn!(%error, "ignoring a notification that does not parse");
                        continue;
                    }
                },
                Heard::Gap => Notice::Gap,
            };
            self.catalog.observe(&notice);
            // Having no subscriber is normal.
            let _ = self.sender.send(notice);
        }
    }
}

/// One subscriber's notices.
pub struct Wakeups {
    receiver: broadcast::Receiver<Notice>,
}

impl Wakeups {
    /// The next notice; [`Notice::Gap`] when some may have been missed; `None` once the bus
    /// is gone.
    pub async fn next(&mut self) -> Option<Notice> {
        match self.receiver.recv().await {
            Ok(notice) => Some(notice),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Notice::Gap),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Writes an event about `subject` in the caller's transaction, with its webhook
/// deliveries, and the notice that wakes the streams once it commits.
pub async fn record(conn: &mut Conn, kind: EventKind, subject: Subject<'_>) -> DomainResult<Event> {
    let shapes = SHAPES
        .get()
        .ok_or_else(|| DomainError::Internal("the API's shapes of events are not registered".to_owned()))?;
    let event = Event {
        id: ids::new_id("evt"),
        kind: kind.as_str().to_owned(),
        subject_id: Some(subject.id().to_owned()),
        created_at: Timestamp::now(),
        data: shapes(&subject),
    };
    let data = event.data.to_string();
    store::insert_event(
        conn,
        &NewEvent {
            id: &event.id,
            kind: &event.kind,
            subject_id: subject.id(),
            order_id: matches!(subject, Subject::Order(_)).then(|| subject.id()),
            data: &data,
            created_at: event.created_at.0,
        },
    )
    .await?;
    let only_endpoint = match subject {
        Subject::WebhookTest { endpoint_id } => Some(endpoint_id),
        _ => None,
    };
    webhooks::plan_deliveries(conn, &event, kind, only_endpoint).await?;
    if let Subject::Order(order) = subject {
        let shop = super::shop::load(conn).await?;
        if let Some(email) = order_emails::compose(kind, order, &shop.name) {
            outbox::enqueue(conn, &Message::Email(email)).await?;
        }
    }
    announce(
        conn,
        &Notice::Event {
            id: event.id.clone(),
            kind: event.kind.clone(),
            subject_id: subject.id().to_owned(),
        },
    )
    .await?;
    Ok(event)
}

/// Sends `notice` to every stream once the caller's transaction commits.
pub async fn announce(conn: &mut Conn, notice: &Notice) -> DomainResult<()> {
    let payload = serde_json::to_string(notice).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    dialect::notify(conn, &payload).await?;
    Ok(())
}

/// The event log (contract: `GET /v1/admin/event-log`): newest first, of one type or all.
pub async fn list_event_log(
    db: &Store,
    caller: &Principal,
    kind: Option<&str>,
    page: &PageRequest,
) -> DomainResult<Page<Event>> {
    caller.require(Permission::Orders)?;
    if let Some(kind) = kind
        && EventKind::parse(kind).is_none()
    {
        return Err(DomainError::invalid("type", "is not an event type"));
    }
    let mut conn = db.read().await?;
    let rows = store::list_events(&mut conn, kind, page.after_id.as_deref(), page.fetch_limit()).await?;
    let events = rows
        .into_iter()
        .map(Event::from_row)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(page.into_page(events, |event| &event.id))
}

/// Where a stream starts: after the event its client saw last (`Last-Event-ID`), or, for a
/// new client or an event no longer kept, after every event committed now.
pub async fn stream_start(db: &Store, last_seen: Option<&str>) -> DomainResult<StreamCursor> {
    let mut conn = db.read().await?;
    if let Some(last_seen) = last_seen
        && let Some(position) = store::find_position(&mut conn, last_seen).await?
    {
        return Ok(StreamCursor {
            position,
            started: None,
        });
    }
    Ok(store::cursor_now(&mut conn).await?)
}

/// Events after `cursor`, in the order they committed (at most `limit`); the cursor moves
/// past them.
pub async fn events_after(db: &Store, cursor: &mut StreamCursor, limit: i64) -> DomainResult<Vec<Event>> {
    let mut conn = db.read().await?;
    let rows = store::list_events_after(&mut conn, cursor, limit).await?;
    if let Some(last) = rows.last() {
        cursor.position = last.position;
    }
    rows.into_iter().map(|row| Event::from_row(row.event)).collect()
}

/// Of the events `ids`, those a reader at `cursor` has yet to read.
pub async fn still_unread(db: &Store, ids: Vec<String>, cursor: &StreamCursor) -> DomainResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(ids);
    }
    let mut conn = db.read().await?;
    let mut unread = Vec::new();
    for id in ids {
        if store::is_unread(&mut conn, &id, cursor).await? {
            unread.push(id);
        }
    }
    Ok(unread)
}

/// The event `id`, for webhook deliveries.
pub(crate) async fn get_event(conn: &mut Conn, id: &str) -> DomainResult<Event> {
    let row = store::find_event(conn, id)
        .await?
        .ok_or(DomainError::NotFound("event"))?;
    Event::from_row(row)
}
