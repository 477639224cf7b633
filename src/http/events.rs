//! Events (contract: Events and webhooks): the shapes events carry, the event log, and the
//! live streams read from the event rows: the shop's for staff, a product's stock and a
//! cart for storefronts.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::CustomerDto;
use super::carts::CartDto;
use super::catalog::ProductDto;
use super::extract::{ApiPath, ApiQuery, Caller, Staff};
use super::orders::{KEEP_ALIVE, OrderDto, RECHECK, stream_slot};
use super::payments::PaymentAttemptDto;
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, time};
use super::{AppState, Json};
use crate::app::caller::{presented_token, still_signed_in};
use crate::domain::events::{self, Event, Notice, StockSnapshot, Subject};
use crate::domain::{PageRequest, Permission, carts, catalog};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/event-log", get(event_log))
}

/// Routes that stream: they are exempt from the request timeout.
pub fn streaming_router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/events", get(admin_events))
        .route("/v1/products/{id_or_slug}/events", get(product_events))
        .route("/v1/carts/{id}/events", get(cart_events))
}

/// How an event's subject looks: as the API shows it elsewhere. Registered with the
/// domain, which writes the snapshot in the event's transaction.
pub fn shape_of(subject: &Subject<'_>) -> serde_json::Value {
    let shaped = match subject {
        Subject::Order(order) => serde_json::to_value(OrderDto::from((*order).clone())),
        Subject::Product(product) => serde_json::to_value(ProductDto::new((*product).clone(), None)),
        Subject::Customer(customer) => serde_json::to_value(CustomerDto::from((*customer).clone())),
        Subject::Stock(stock) => serde_json::to_value(StockDto::from(*stock)),
        Subject::Payment(payment) => serde_json::to_value(PaymentAttemptDto::from((*payment).clone())),
        Subject::WebhookTest { endpoint_id } => Ok(serde_json::json!({
            "webhook_id": endpoint_id,
            "message": "a test event sent from Backroom",
        })),
    };
    shaped.unwrap_or_else(|error| {
        tracing::error!(%error, "an event's subject does not serialize");
        serde_json::Value::Null
    })
}

/// The event log, newest first, of one type or all.
#[utoipa::path(get, path = "/v1/admin/event-log", tag = "events", params(EventLogQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<EventDto>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn event_log(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<EventLogQuery>,
) -> ApiResult<Json<ListResponse<EventDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let found = events::list_event_log(&state.store, &caller, query.kind.as_deref(), &page).await?;
    Ok(Json(ListResponse::from_page(found, Into::into)))
}

/// Events read from the rows at once.
const READ_BATCH: i64 = 100;
/// How soon a stream reads again for an event announced but not yet readable, at first;
/// each read that still misses it waits twice as long, up to `UNREAD_RETRY_LONGEST`.
const UNREAD_RETRY: std::time::Duration = std::time::Duration::from_millis(50);
const UNREAD_RETRY_LONGEST: std::time::Duration = std::time::Duration::from_secs(1);
/// Announced events a stream keeps track of (beyond, it reads at the next notice).
const MAX_AWAITED: usize = 20;

/// Server-Sent Events of every event in the shop, each as `event: <type>`, `id: <event id>`
/// and `data:` the whole event. A client that reconnects with `Last-Event-ID` gets what it
/// missed first, on any process; a new one starts with the next event.
#[utoipa::path(get, path = "/v1/admin/events", tag = "events", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "the last event id seen: resume after it")),
    responses((status = 200, content_type = "text/event-stream", description = "a stream of events"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn admin_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Staff(caller): Staff,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    caller.require(Permission::Orders)?;
    let slot = stream_slot(&state, peer.ip())?;
    let credential = presented_token(&headers).map(str::to_owned);
    let last_seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // Subscribe before reading, so no event between the read and the subscription is missed.
    let mut wakeups = state.events.subscribe();
    let mut cursor = events::stream_start(&state.store, last_seen.as_deref()).await?;
    let mut shutdown = state.shutdown.clone();
    let mut recheck = tokio::time::interval(RECHECK);
    let stream = async_stream::stream! {
        let _slot = slot;
        // Events announced and not read yet: on PostgreSQL an event becomes readable only
        // once every older transaction has ended (store::events), which may be a moment
        // after its own commit.
        let mut awaited: Vec<String> = Vec::new();
        let mut retry = UNREAD_RETRY;
        'stream: loop {
            loop {
                let found = match events::events_after(&state.store, &mut cursor, READ_BATCH).await {
                    Ok(found) => found,
                    Err(error) => {
                        tracing::warn!(%error, "staff event stream ended");
                        break 'stream;
                    }
                };
                let complete = (found.len() as i64) < READ_BATCH;
                // Few staff streams, much data each: the session is checked before every batch.
                if !found.is_empty() && !still_signed_in(&state.store, credential.as_deref(), &caller).await {
                    break 'stream;
                }
                for event in found {
                    yield Ok(sse_of_event(event));
                }
                if complete {
                    break;
                }
            }
            awaited = events::still_unread(&state.store, awaited, &cursor)
                .await
                .unwrap_or_default();
            if awaited.is_empty() {
                retry = UNREAD_RETRY;
            }
            loop {
                tokio::select! {
                    _ = shutdown.changed() => break 'stream,
                    () = tokio::time::sleep(retry), if !awaited.is_empty() => {
                        retry = (retry * 2).min(UNREAD_RETRY_LONGEST);
                        break;
                    }
                    // Also a look at the rows, should a notice have gone missing unnoticed.
                    _ = recheck.tick() => {
                        if still_signed_in(&state.store, credential.as_deref(), &caller).await { break } else { break 'stream }
                    }
                    notice = wakeups.next() => match notice {
                        Some(Notice::Event { id, .. }) => {
                            if awaited.len() < MAX_AWAITED {
                                awaited.push(id);
                            }
                            break;
                        }
                        Some(Notice::Gap) => break,
                        Some(_) => {}
                        None => break 'stream,
                    },
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

fn sse_of_event(event: Event) -> SseEvent {
    let name = event.kind.clone();
    let id = event.id.clone();
    let data = serde_json::to_string(&EventDto::from(event)).unwrap_or_else(|_| "{}".to_owned());
    SseEvent::default().event(name).id(id).data(data)
}

/// Server-Sent Events of a product's stock: each variant's `{variant_id, available}` as
/// `event: product.stock`, all of them first, then each variant whose stock changed.
#[utoipa::path(get, path = "/v1/products/{id_or_slug}/events", tag = "catalog", security(()),
    params(("id_or_slug" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "a stream of `product.stock` events"),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn product_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiPath(id_or_slug): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let mut wakeups = state.events.subscribe();
    let product = catalog::get_product(&state.store, &id_or_slug).await?;
    let slot = stream_slot(&state, peer.ip())?;
    let mut shutdown = state.shutdown.clone();
    let stream = async_stream::stream! {
        let _slot = slot;
        let product_id = product.id.clone();
        let mut shown: HashMap<String, i64> = HashMap::new();
        let mut current = Some(product);
        loop {
            if let Some(product) = current.take() {
                for variant in product.variants {
                    if shown.insert(variant.id.clone(), variant.available) != Some(variant.available) {
                        yield Ok(stock_event(&variant.id, variant.available));
                    }
                }
            }
            let notice = tokio::select! {
                _ = shutdown.changed() => break,
                notice = wakeups.next() => notice,
            };
            match notice {
                Some(Notice::Stock { product_id: changed }) if changed == product_id => {}
                Some(Notice::Gap) => {}
                Some(_) => continue,
                None => break,
            }
            match catalog::get_product(&state.store, &product_id).await {
                Ok(product) => current = Some(product),
                // Unpublished or deleted: nothing more to show.
                Err(_) => break,
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

fn stock_event(variant_id: &str, available: i64) -> SseEvent {
    let data = serde_json::json!({ "variant_id": variant_id, "available": available });
    SseEvent::default().event("product.stock").data(data.to_string())
}

/// Server-Sent Events of a cart, under the cart's access rule: the cart now, then again
/// after every change, each as `event: cart.updated`.
#[utoipa::path(get, path = "/v1/carts/{id}/events", tag = "carts", security((), ("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "a stream of `cart.updated` events"),
              (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn cart_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let mut wakeups = state.events.subscribe();
    let cart = carts::get_cart(&state.store, &caller, &id).await?;
    let slot = stream_slot(&state, peer.ip())?;
    let credential = presented_token(&headers).map(str::to_owned);
    let mut shutdown = state.shutdown.clone();
    let mut recheck = tokio::time::interval(RECHECK);
    let stream = async_stream::stream! {
        let _slot = slot;
        let mut current = Some(cart);
        loop {
            if let Some(cart) = current.take() {
                let data = serde_json::to_string(&CartDto::from(cart)).unwrap_or_else(|_| "{}".to_owned());
                yield Ok(SseEvent::default().event("cart.updated").data(data));
            }
            let notice = tokio::select! {
                _ = shutdown.changed() => break,
                _ = recheck.tick() => {
                    if still_signed_in(&state.store, credential.as_deref(), &caller).await { continue } else { break }
                }
                notice = wakeups.next() => notice,
            };
            match notice {
                Some(Notice::Cart { cart_id }) if cart_id == id => {}
                Some(Notice::Gap) => {}
                Some(_) => continue,
                None => break,
            }
            match carts::get_cart(&state.store, &caller, &id).await {
                Ok(cart) => current = Some(cart),
                Err(_) => break,
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventLogQuery {
    /// Only events of this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An event: `data` is its subject (an order, a product, a customer, a stock level or a
/// payment) as the API showed it when the event happened.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventDto {
    pub id: String,
    /// `order.placed`, `order.paid`, `order.fulfilled`, `order.canceled`, `order.refunded`,
    /// `payment.failed`, `product.created`, `product.updated`, `inventory.low`,
    /// `inventory.out_of_stock`, `customer.created`, or `webhook.test`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<Event> for EventDto {
    fn from(event: Event) -> Self {
        EventDto {
            id: event.id,
            kind: event.kind,
            created_at: time(event.created_at),
            data: event.data,
        }
    }
}

/// A variant's stock, the data of `inventory.*` events.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StockLevel)]
pub struct StockDto {
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
}

impl From<&StockSnapshot> for StockDto {
    fn from(stock: &StockSnapshot) -> Self {
        StockDto {
            variant_id: stock.variant_id.clone(),
            product_id: stock.product_id.clone(),
            sku: stock.sku.clone(),
            on_hand: stock.on_hand,
            reserved: stock.reserved,
            available: stock.available,
            low_stock_threshold: stock.low_stock_threshold,
        }
    }
}
