//! A customer's orders and their live updates (contract: Orders).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;

use super::extract::{ApiPath, ApiQuery, Caller};
use super::problem::{ApiResult, Problem};
use super::shapes::{
    AddressDto, AppliedDiscountDto, LineDto, ListResponse, MoneyDto, PageQuery, ShippingChoiceDto, TaxLineDto, time,
};
use super::{AppState, Json};
use crate::app::caller::{presented_token, still_signed_in};
use crate::app::client_slots::ClientSlot;
use crate::domain::events::Notice;
use crate::domain::orders::{self, Order};
use crate::domain::pricing::Totals;
use crate::domain::{DomainError, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orders", get(list_orders))
        .route("/v1/orders/{id}", get(get_order))
}

/// Routes that stream: they are exempt from the request timeout.
pub fn streaming_router() -> Router<AppState> {
    Router::new().route("/v1/orders/{id}/events", get(order_events))
}

pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The caller's own orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<OrderDto>), (status = 401, body = Problem)))]
pub async fn list_orders(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<OrderDto>>> {
    caller.require_customer()?;
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let orders = orders::list_own_orders(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(orders, Into::into)))
}

/// An order, for its customer or, for a guest order, with `?token=`.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security((), ("bearer" = [])), params(("id" = String, Path), OrderAccessQuery),
    responses((status = 200, body = OrderDto), (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<OrderAccessQuery>,
) -> ApiResult<Json<OrderDto>> {
    Ok(Json(
        orders::get_order(&state.store, &caller, &id, query.token.as_deref())
            .await?
            .into(),
    ))
}

/// Server-Sent Events: the order as it is now, then again after every change, each as
/// `event: order.updated`. A comment every 15 s keeps the connection open.
#[utoipa::path(get, path = "/v1/orders/{id}/events", tag = "orders", security((), ("bearer" = [])), params(("id" = String, Path), OrderAccessQuery),
    responses((status = 200, content_type = "text/event-stream", description = "a stream of `order.updated` events"),
              (status = 404, body = Problem)))]
pub async fn order_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<OrderAccessQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Subscribe before reading, so no change between the read and the subscription is lost.
    let mut wakeups = state.events.subscribe();
    let order = orders::get_order(&state.store, &caller, &id, query.token.as_deref()).await?;
    let slot = stream_slot(&state, peer.ip())?;
    let credential = presented_token(&headers).map(str::to_owned);
    let mut shutdown = state.shutdown.clone();
    let mut recheck = tokio::time::interval(RECHECK);
    let stream = async_stream::stream! {
        let _slot = slot;
        let mut shown = order.updated_at;
        yield Ok(order_event("order.updated", &format!("{}:{}", order.id, order.updated_at.0), order));
        loop {
            let notice = tokio::select! {
                _ = shutdown.changed() => break,
                _ = recheck.tick() => {
                    if still_signed_in(&state.store, credential.as_deref(), &caller).await { continue } else { break }
                }
                notice = wakeups.next() => notice,
            };
            match notice {
                Some(Notice::Event { subject_id, .. }) if subject_id == id => {}
                Some(Notice::Gap) => {}
                Some(_) => continue,
                None => break,
            }
            match orders::get_order(&state.store, &caller, &id, query.token.as_deref()).await {
                // A look at the rows that finds nothing new sends nothing.
                Ok(order) if order.updated_at == shown => {}
                Ok(order) => {
                    shown = order.updated_at;
                    yield Ok(order_event("order.updated", &format!("{}:{}", order.id, order.updated_at.0), order));
                }
                Err(error) => {
                    tracing::warn!(%error, order_id = %id, "order stream ended");
                    break;
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// A live stream's slot for `client`, or 429 when it holds its share already.
pub(super) fn stream_slot(state: &AppState, client: IpAddr) -> Result<ClientSlot, DomainError> {
    state
        .stream_slots
        .take(client)
        .ok_or(DomainError::RateLimited { retry_after_seconds: 5 })
}

/// How often a live stream checks that its caller's session or key still holds.
pub(super) const RECHECK: Duration = Duration::from_secs(30);

fn order_event(name: &str, id: &str, order: Order) -> Event {
    let data = serde_json::to_string(&OrderDto::from(order)).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event(name).id(id).data(data)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderAccessQuery {
    /// For a guest order: the `token` of the checkout response.
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payment)]
pub struct PaymentDto {
    /// The id of `/v1/payments/{id}`.
    pub id: String,
    /// `authorized` (manual capture, until fulfilment), `captured`, `partially_refunded`,
    /// `refunded`, or `canceled` (an authorization released by a cancel).
    pub status: String,
    pub amount: MoneyDto,
    pub refunded_amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Refund)]
pub struct RefundDto {
    pub id: String,
    pub amount: MoneyDto,
    /// `pending` (asked of the provider, not answered yet), `succeeded` or `failed`.
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderDto {
    pub id: String,
    /// A human-friendly sequence number.
    pub number: i64,
    pub customer_id: Option<String>,
    pub email: String,
    /// `paid`, `fulfilled` or `canceled`.
    pub status: String,
    pub items: Vec<LineDto>,
    /// The shipping option charged, as the cart showed it.
    pub shipping_option: Option<ShippingChoiceDto>,
    pub discounts: Vec<AppliedDiscountDto>,
    /// One entry per tax rate, items and shipping together; they add up to `tax_total`.
    pub tax_lines: Vec<TaxLineDto>,
    pub subtotal: MoneyDto,
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    pub tax_total: MoneyDto,
    pub total: MoneyDto,
    pub currency: String,
    pub payment: PaymentDto,
    /// Every refund asked for, oldest first.
    pub refunds: Vec<RefundDto>,
    pub shipping_address: AddressDto,
    pub tracking_number: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Only in a guest checkout's response: opens the order with `?token=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<Order> for OrderDto {
    fn from(order: Order) -> Self {
        let Totals {
            subtotal,
            discount_total,
            shipping_total,
            tax_total,
            total,
        } = order.pricing.totals;
        OrderDto {
            id: order.id,
            number: order.number,
            customer_id: order.customer_id,
            email: order.email,
            status: order.status.as_str().to_owned(),
            items: order.pricing.lines.into_iter().map(Into::into).collect(),
            shipping_option: order.pricing.shipping.map(Into::into),
            discounts: order.pricing.discounts.into_iter().map(Into::into).collect(),
            tax_lines: order.pricing.tax_lines.into_iter().map(Into::into).collect(),
            subtotal: subtotal.into(),
            discount_total: discount_total.into(),
            shipping_total: shipping_total.into(),
            tax_total: tax_total.into(),
            total: total.into(),
            currency: order.currency.to_string(),
            payment: PaymentDto {
                id: order.payment.id,
                status: order.payment.status.as_str().to_owned(),
                amount: order.payment.amount.into(),
                refunded_amount: order.payment.refunded_amount.into(),
            },
            refunds: order
                .refunds
                .into_iter()
                .map(|refund| RefundDto {
                    id: refund.id,
                    amount: refund.amount.into(),
                    status: refund.status,
                    created_at: time(refund.created_at),
                })
                .collect(),
            shipping_address: order.shipping_address.into(),
            tracking_number: order.tracking_number,
            created_at: time(order.created_at),
            updated_at: time(order.updated_at),
            token: None,
        }
    }
}
