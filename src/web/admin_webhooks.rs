//! The dashboard's webhooks: the shop's endpoints with their state, a new endpoint (its
//! secret shown once), and one endpoint's delivery log with every attempt, a retry by hand
//! and a test event. Every change goes through the API.

use askama::Template;
use axum::extract::State;

use super::admin::StaffVisitor;
use super::view::Moment;
use super::{PagePath, PageResult, Shell, page};
use crate::app::AppState;
use crate::domain::PageRequest;
use crate::domain::events::EventKind;
use crate::domain::webhooks::{self, Delivery, DeliveryAttempt, WebhookEndpoint};

/// Deliveries an endpoint's page shows, newest first.
const DELIVERIES_SHOWN: i64 = 25;

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
    /// Why it stopped: paused by staff, or disabled by Backroom and why.
    pub state: String,
    pub failing_since: Option<Moment>,
}

impl From<&WebhookEndpoint> for EndpointRow {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        let state = match (endpoint.enabled, &endpoint.disabled_reason) {
            (true, _) => "Sending".to_owned(),
            (false, None) => "Paused".to_owned(),
            (false, Some(reason)) => format!("Disabled: {reason}"),
        };
        EndpointRow {
            id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: if endpoint.events.iter().any(|wanted| wanted == "*") {
                "every event".to_owned()
            } else {
                endpoint.events.join(", ")
            },
            enabled: endpoint.enabled,
            state,
            failing_since: endpoint.failing_since.map(Moment::new),
        }
    }
}

/// An event type a new endpoint may ask for.
pub struct EventChoice {
    pub name: &'static str,
    pub checked: bool,
}

fn event_choices(wanted: &[String]) -> Vec<EventChoice> {
    EventKind::ALL
        .iter()
        .filter(|kind| **kind != EventKind::WebhookTest)
        .map(|kind| EventChoice {
            name: kind.as_str(),
            checked: wanted.iter().any(|name| name == kind.as_str()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    shell: Shell,
    endpoints: Vec<EndpointRow>,
    choices: Vec<EventChoice>,
}

/// Every endpoint, and the form for a new one.
pub async fn list(State(state): State<AppState>, StaffVisitor(visitor): StaffVisitor) -> PageResult {
    let all = PageRequest::parse(Some(PageRequest::MAX_LIMIT), None)?;
    let found = webhooks::list_endpoints(&state.store, &visitor, &all).await?;
    page(&WebhooksPage {
        shell: Shell::admin("Webhooks", &visitor),
        endpoints: found.data.iter().map(EndpointRow::from).collect(),
        choices: event_choices(&[]),
    })
}

pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: &'static str,
    pub attempts: i64,
    pub response_status: String,
    pub next_attempt: Option<Moment>,
    pub created: Moment,
    pub log: Vec<AttemptRow>,
}

pub struct AttemptRow {
    pub started: Moment,
    pub duration_ms: i64,
    /// The status code, or why there was none.
    pub outcome: String,
    pub body: String,
}

impl DeliveryRow {
    fn new(delivery: Delivery, attempts: Vec<DeliveryAttempt>) -> Self {
        DeliveryRow {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            status: delivery.status.as_str(),
            attempts: delivery.attempts,
            response_status: delivery
                .response_status
                .map(|status| status.to_string())
                .unwrap_or_default(),
            next_attempt: delivery.next_attempt_at.map(Moment::new),
            created: Moment::new(delivery.created_at),
            log: attempts
                .into_iter()
                .map(|attempt| AttemptRow {
                    started: Moment::new(attempt.started_at),
                    duration_ms: attempt.duration_ms,
                    outcome: match (attempt.response_status, attempt.error) {
                        (Some(status), _) => format!("answered {status}"),
                        (None, Some(error)) => format!("no answer: {error}"),
                        (None, None) => "no answer".to_owned(),
                    },
                    body: attempt.response_body,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    shell: Shell,
    endpoint: EndpointRow,
    choices: Vec<EventChoice>,
    deliveries: Vec<DeliveryRow>,
}

/// One endpoint: its settings, a test, and its delivery log.
pub async fn endpoint(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PagePath(id): PagePath<String>,
) -> PageResult {
    let endpoint = webhooks::get_endpoint(&state.store, &visitor, &id).await?;
    let newest = PageRequest::parse(Some(DELIVERIES_SHOWN), None)?;
    let found = webhooks::list_deliveries(&state.store, &visitor, &id, &newest).await?;
    let mut deliveries = Vec::with_capacity(found.data.len());
    for delivery in found.data {
        let (delivery, attempts) = webhooks::get_delivery(&state.store, &visitor, &id, &delivery.id).await?;
        deliveries.push(DeliveryRow::new(delivery, attempts));
    }
    page(&WebhookPage {
        shell: Shell::admin("Webhook", &visitor),
        choices: event_choices(&endpoint.events),
        endpoint: EndpointRow::from(&endpoint),
        deliveries,
    })
}
