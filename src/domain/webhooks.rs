//! Merchant webhooks (contract: Events and webhooks): endpoints that staff register, and
//! the delivery of every event they want, signed after Standard Webhooks 1.0.
//!
//! A delivery is written in the transaction that writes its event, so none is lost or
//! sent for a change that did not commit. Workers on any process claim due deliveries
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL) under a lease: one that dies mid-delivery
//! leaves its claim to another once the lease is over, so a receiver may see an event
//! twice and deduplicates by `webhook-id`, the event's id. An endpoint gets one delivery
//! at a time, so a slow one holds up only itself. Failures are retried with exponential
//! backoff and jitter for 3 days; a 410 disables the endpoint at once, 3 days of failures
//! disable it and the admins are told by email.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::events::{self, Event, EventKind, Subject};
use super::outbox::{self, Email, Message};
use super::time::Timestamp;
use super::validate::Checks;
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, ids};
use crate::outbound::{FetchError, Outbound, Reach};
use crate::store::webhooks::{self as store, AttemptEnd, AttemptRow, DeliveryRow, EndpointRow};
use crate::store::{Conn, Store};

/// An endpoint whose deliveries failed this long is disabled; a delivery is retried this
/// long after its event.
const GIVE_UP_SECONDS: i64 = 3 * 24 * 3600;
/// How much of an answer's body the delivery log keeps.
const BODY_START_BYTES: usize = 1024;
const MAX_URL_CHARS: usize = 2000;
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The schedule: the first retry 5 s after a failure, each next wait 4 times longer, up
/// to 12 hours between attempts; each wait varies by up to a fifth either way, so that
/// deliveries failed together do not all come back at once.
const FIRST_RETRY_SECONDS: f64 = 5.0;
const BACKOFF_FACTOR: f64 = 4.0;
const LONGEST_WAIT_SECONDS: f64 = 12.0 * 3600.0;
const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event types, or `["*"]` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why Backroom disabled it (a 410, or 3 days of failures); `None` when staff did.
    pub disabled_reason: Option<String>,
    /// Failing since then, without a success.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub response_status: Option<i64>,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One attempt of a delivery, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub id: String,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    pub response_status: Option<i64>,
    /// The start of the answer's body.
    pub response_body: String,
    /// Why there was no answer (a refused address, a timeout).
    pub error: Option<String>,
}

/// A new endpoint's secret, `whsec_` and base64 of 32 random bytes: shown only once.
fn new_secret() -> String {
    format!("whsec_{}", STANDARD.encode(rand::random::<[u8; 32]>()))
}

/// The `webhook-signature` of a delivery (Standard Webhooks 1.0): HMAC-SHA256 of
/// `id.timestamp.body` keyed with the secret's bytes (base64 after `whsec_`).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> DomainResult<String> {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|_| DomainError::Internal("a webhook secret is not base64".to_owned()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|error| DomainError::Internal(error.to_string()))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The wait before retry number `retry` (1 for the first), `unit` in `[0, 1)` choosing
/// where in the jitter it falls.
fn backoff(retry: i64, unit: f64) -> Duration {
    let exponent = i32::try_from(retry.clamp(1, 32) - 1).unwrap_or(31);
    let wait = (FIRST_RETRY_SECONDS * BACKOFF_FACTOR.powi(exponent)).min(LONGEST_WAIT_SECONDS);
    Duration::from_secs_f64(wait * (1.0 - JITTER + 2.0 * JITTER * unit))
}

fn wants(event_types: &[String], kind: EventKind) -> bool {
    event_types
        .iter()
        .any(|wanted| wanted == "*" || wanted == kind.as_str())
}

/// Writes a delivery of `event` for every enabled endpoint that wants it (or for
/// `only_endpoint` alone, a test), in the event's transaction, and wakes the delivery
/// workers of every process once it commits.
pub(crate) async fn plan_deliveries(
    conn: &mut Conn,
    event: &Event,
    kind: EventKind,
    only_endpoint: Option<&str>,
) -> DomainResult<()> {
    let now = event.created_at.0;
    let mut planned = false;
    for (endpoint_id, event_types) in store::list_enabled_endpoints(conn).await? {
        let wanted = match only_endpoint {
            Some(only) => only == endpoint_id,
            None => kind != EventKind::WebhookTest && wants(&parse_event_types(&event_types)?, kind),
        };
        if wanted {
            store::insert_delivery(conn, &ids::new_id("dlv"), &endpoint_id, &event.id, &event.kind, now).await?;
            planned = true;
        }
    }
    if planned {
        wake_workers(conn).await?;
    }
    Ok(())
}

fn parse_event_types(stored: &str) -> DomainResult<Vec<String>> {
    serde_json::from_str(stored).map_err(|_| super::catalog::corrupt("webhook event types", stored))
}

fn endpoint_of(row: EndpointRow) -> DomainResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        events: parse_event_types(&row.event_types)?,
        id: row.id,
        url: row.url,
        description: row.description,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        failing_since: row.failing_since.map(Timestamp),
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

fn delivery_of(row: DeliveryRow) -> DomainResult<Delivery> {
    Ok(Delivery {
        status: DeliveryStatus::parse(&row.status)
            .ok_or_else(|| super::catalog::corrupt("delivery status", &row.status))?,
        id: row.id,
        endpoint_id: row.endpoint_id,
        event_id: row.event_id,
        event_type: row.event_type,
        attempts: row.attempts,
        response_status: row.response_status,
        next_attempt_at: row.next_attempt_at.map(Timestamp),
        created_at: Timestamp(row.created_at),
    })
}

/// Checks a URL as the contract wants it: `https`, or `http` to loopback when the operator
/// allows loopback; its host resolving only to addresses within reach.
async fn check_url(checks: &mut Checks, client: &Outbound, sent: &str) -> String {
    let url = sent.trim().to_owned();
    if sent.chars().count() > MAX_URL_CHARS {
        checks.fail("url", format!("must be at most {MAX_URL_CHARS} characters"));
        return url;
    }
    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("https" | "http")) {
        checks.fail("url", "must be an https URL");
        return url;
    }
    match client.resolve(&url).await {
        Ok(addresses) => {
            let loopback_only = addresses.iter().all(|ip| crate::outbound::is_loopback(*ip));
            if scheme.as_deref() == Some("http") && !(client.reach() != Reach::Public && loopback_only) {
                checks.fail("url", "must be an https URL");
            }
        }
        Err(FetchError::RefusedAddress(address)) => checks.fail(
            "url",
            format!("resolves to {address}, a private, loopback or link-local address"),
        ),
        Err(FetchError::NotHttp(_)) => checks.fail("url", "must be an https URL"),
        Err(error) => checks.fail("url", error.to_string()),
    }
    url
}

fn check_events(checks: &mut Checks, events: &[String]) {
    if events.is_empty() {
        checks.fail("events", "name at least one event type, or \"*\" for all");
    }
    for (index, wanted) in events.iter().enumerate() {
        if wanted != "*" && EventKind::parse(wanted).is_none_or(|kind| kind == EventKind::WebhookTest) {
            checks.fail(format!("events[{index}]"), "is not an event type");
        }
    }
}

fn check_description(checks: &mut Checks, sent: &str) -> String {
    let description = sent.trim().to_owned();
    if sent.chars().count() > MAX_DESCRIPTION_CHARS {
        checks.fail(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    description
}

fn unique(events: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    for wanted in events {
        if !seen.contains(&wanted) {
            seen.push(wanted);
        }
    }
    seen
}

/// Registers an endpoint; returns it with its secret, which is not shown again.
#[tracing::instrument(skip_all)]
pub async fn create_endpoint(
    db: &Store,
    client: &Outbound,
    caller: &Principal,
    input: NewEndpoint,
) -> DomainResult<(WebhookEndpoint, String)> {
    caller.require(Permission::Orders)?;
    let mut checks = Checks::default();
    check_events(&mut checks, &input.events);
    let description = check_description(&mut checks, input.description.as_deref().unwrap_or_default());
    let url = check_url(&mut checks, client, &input.url).await;
    checks.finish()?;
    let now = Timestamp::now().0;
    let secret = new_secret();
    let row = EndpointRow {
        id: ids::new_id("whk"),
        url,
        description,
        event_types: serde_json::to_string(&unique(input.events))
            .map_err(|error| DomainError::Internal(error.to_string()))?,
        secret: secret.clone(),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.write().await?;
    store::insert_endpoint(&mut tx, &row).await?;
    tx.commit().await?;
    Ok((endpoint_of(row)?, secret))
}

pub async fn list_endpoints(db: &Store, caller: &Principal, page: &PageRequest) -> DomainResult<Page<WebhookEndpoint>> {
    caller.require(Permission::Orders)?;
    let mut conn = db.read().await?;
    let rows = store::list_endpoints(&mut conn, page.after_id.as_deref(), page.fetch_limit()).await?;
    let endpoints = rows.into_iter().map(endpoint_of).collect::<DomainResult<Vec<_>>>()?;
    Ok(page.into_page(endpoints, |endpoint| &endpoint.id))
}

pub async fn get_endpoint(db: &Store, caller: &Principal, id: &str) -> DomainResult<WebhookEndpoint> {
    caller.require(Permission::Orders)?;
    let mut conn = db.read().await?;
    endpoint_of(find_endpoint(&mut conn, id).await?)
}

async fn find_endpoint(conn: &mut Conn, id: &str) -> DomainResult<EndpointRow> {
    store::find_endpoint(conn, id)
        .await?
        .ok_or(DomainError::NotFound("webhook endpoint"))
}

/// Changes an endpoint. Enabling it again clears why it was disabled and its failures;
/// deliveries still pending then go out.
#[tracing::instrument(skip(db, client, caller, patch))]
pub async fn update_endpoint(
    db: &Store,
    client: &Outbound,
    caller: &Principal,
    id: &str,
    patch: EndpointPatch,
) -> DomainResult<WebhookEndpoint> {
    caller.require(Permission::Orders)?;
    let mut checks = Checks::default();
    if let Some(events) = &patch.events {
        check_events(&mut checks, events);
    }
    let description = patch
        .description
        .as_deref()
        .map(|text| check_description(&mut checks, text));
    let url = match &patch.url {
        Some(url) => Some(check_url(&mut checks, client, url).await),
        None => None,
    };
    checks.finish()?;
    let mut tx = db.write().await?;
    let mut row = find_endpoint(&mut tx, id).await?;
    if let Some(url) = url {
        row.url = url;
    }
    if let Some(description) = description {
        row.description = description;
    }
    if let Some(events) = patch.events {
        row.event_types =
            serde_json::to_string(&unique(events)).map_err(|error| DomainError::Internal(error.to_string()))?;
    }
    if let Some(enabled) = patch.enabled {
        if enabled && !row.enabled {
            row.disabled_reason = None;
            row.failing_since = None;
        }
        row.enabled = enabled;
    }
    row.updated_at = Timestamp::now().0;
    store::update_endpoint(&mut tx, &row).await?;
    tx.commit().await?;
    endpoint_of(row)
}

/// Deletes an endpoint and its deliveries.
pub async fn delete_endpoint(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    caller.require(Permission::Orders)?;
    let mut tx = db.write().await?;
    if !store::delete_endpoint(&mut tx, id).await? {
        return Err(DomainError::NotFound("webhook endpoint"));
    }
    tx.commit().await?;
    Ok(())
}

/// An endpoint's deliveries, newest first.
pub async fn list_deliveries(
    db: &Store,
    caller: &Principal,
    endpoint_id: &str,
    page: &PageRequest,
) -> DomainResult<Page<Delivery>> {
    caller.require(Permission::Orders)?;
    let mut conn = db.read().await?;
    find_endpoint(&mut conn, endpoint_id).await?;
    let rows = store::list_deliveries(&mut conn, endpoint_id, page.after_id.as_deref(), page.fetch_limit()).await?;
    let deliveries = rows.into_iter().map(delivery_of).collect::<DomainResult<Vec<_>>>()?;
    Ok(page.into_page(deliveries, |delivery| &delivery.id))
}

/// One delivery with its attempts, oldest first.
pub async fn get_delivery(
    db: &Store,
    caller: &Principal,
    endpoint_id: &str,
    delivery_id: &str,
) -> DomainResult<(Delivery, Vec<DeliveryAttempt>)> {
    caller.require(Permission::Orders)?;
    let mut conn = db.read().await?;
    let delivery = store::find_delivery(&mut conn, endpoint_id, delivery_id)
        .await?
        .ok_or(DomainError::NotFound("delivery"))?;
    let attempts = store::list_attempts(&mut conn, delivery_id)
        .await?
        .into_iter()
        .map(|row| DeliveryAttempt {
            id: row.id,
            started_at: Timestamp(row.started_at),
            duration_ms: row.duration_ms,
            response_status: row.response_status,
            response_body: row.response_body,
            error: row.error,
        })
        .collect();
    Ok((delivery_of(delivery)?, attempts))
}

/// Sends a delivery again as soon as a worker is free, whatever became of it; the attempt
/// counts as one more.
#[tracing::instrument(skip(db, caller))]
pub async fn retry_delivery(db: &Store, caller: &Principal, endpoint_id: &str, delivery_id: &str) -> DomainResult<()> {
    caller.require(Permission::Orders)?;
    let mut tx = db.write().await?;
    store::find_delivery(&mut tx, endpoint_id, delivery_id)
        .await?
        .ok_or(DomainError::NotFound("delivery"))?;
    if !store::schedule_now(&mut tx, delivery_id, Timestamp::now().0).await? {
        return Err(DomainError::conflict("the delivery is being sent right now"));
    }
    wake_workers(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a `webhook.test` event to one enabled endpoint. Returns the event.
#[tracing::instrument(skip(db, caller))]
pub async fn send_test(db: &Store, caller: &Principal, endpoint_id: &str) -> DomainResult<Event> {
    caller.require(Permission::Orders)?;
    let mut tx = db.write().await?;
    if !find_endpoint(&mut tx, endpoint_id).await?.enabled {
        return Err(DomainError::conflict(
            "the endpoint is disabled: enable it to send a test",
        ));
    }
    let event = events::record(&mut tx, EventKind::WebhookTest, Subject::WebhookTest { endpoint_id }).await?;
    tx.commit().await?;
    Ok(event)
}

/// Tells the delivery workers of every process to look for due deliveries now.
async fn wake_workers(tx: &mut Conn) -> DomainResult<()> {
    events::announce(tx, &events::Notice::Deliveries).await
}

/// A delivery a worker claimed, with what it takes to send it.
#[derive(Debug)]
pub struct ClaimedDelivery {
    delivery: DeliveryRow,
    /// The claim's lease: only while it holds is the outcome this worker's to record.
    lease_until: i64,
}

/// Claims up to `limit` due deliveries for this worker, one per endpoint, each under a
/// lease of `lease`.
pub async fn claim_due(db: &Store, lease: Duration, limit: i64) -> DomainResult<Vec<ClaimedDelivery>> {
    let now = Timestamp::now();
    let lease_until = now.plus_seconds(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1));
    let mut tx = db.write().await?;
    let claimed = store::claim_due_deliveries(&mut tx, now.0, lease_until.0, limit).await?;
    tx.commit().await?;
    Ok(claimed
        .into_iter()
        .map(|delivery| ClaimedDelivery {
            delivery,
            lease_until: lease_until.0,
        })
        .collect())
}

/// How long until the next delivery is due (zero when one is due now); `None` when none
/// is pending.
pub async fn next_due_in(db: &Store) -> DomainResult<Option<Duration>> {
    let mut conn = db.read().await?;
    let due = store::find_next_due(&mut conn).await?;
    let now = Timestamp::now().0;
    Ok(due.map(|due| Duration::from_micros(u64::try_from(due - now).unwrap_or(0))))
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; tried again later.
    WillRetry,
    /// Failed for good: 3 days passed, or the endpoint is gone (410).
    Failed,
    /// Not attempted: the endpoint was disabled or deleted meanwhile.
    Skipped,
}

/// Sends a claimed delivery and records the attempt.
#[tracing::instrument(skip_all, fields(delivery_id = %claimed.delivery.id, endpoint_id = %claimed.delivery.endpoint_id))]
pub async fn attempt(db: &Store, client: &Outbound, claimed: ClaimedDelivery) -> DomainResult<AttemptOutcome> {
    let ClaimedDelivery { delivery, lease_until } = claimed;
    let (endpoint, event) = {
        let mut conn = db.read().await?;
        let endpoint = store::find_endpoint(&mut conn, &delivery.endpoint_id).await?;
        let event = events::get_event(&mut conn, &delivery.event_id).await?;
        (endpoint, event)
    };
    let Some(endpoint) = endpoint.filter(|endpoint| endpoint.enabled) else {
        let mut tx = db.write().await?;
        store::release_claim(&mut tx, &delivery, lease_until, Timestamp::now().0).await?;
        tx.commit().await?;
        return Ok(AttemptOutcome::Skipped);
    };
    let started_at = Timestamp::now();
    let clock = Instant::now();
    let answer = send(client, &endpoint, &event, started_at).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let tried = Tried {
        delivery: &delivery,
        lease_until,
        endpoint: &endpoint,
        started_at,
        duration_ms,
    };
    record_attempt(db, &tried, answer).await
}

/// An attempt made: what was sent where, under which claim, when and how long it took.
struct Tried<'a> {
    delivery: &'a DeliveryRow,
    lease_until: i64,
    endpoint: &'a EndpointRow,
    started_at: Timestamp,
    duration_ms: i64,
}

async fn send(
    client: &Outbound,
    endpoint: &EndpointRow,
    event: &Event,
    now: Timestamp,
) -> DomainResult<Result<crate::outbound::Answer, FetchError>> {
    let body = serde_json::json!({
        "id": event.id,
        "type": event.kind,
        "created_at": event.created_at.to_rfc3339(),
        "data": event.data,
    })
    .to_string();
    let timestamp = now.0 / 1_000_000;
    let signed = signature(&endpoint.secret, &event.id, timestamp, &body)?;
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in [
        ("webhook-id", event.id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signed),
        ("content-type", "application/json".to_owned()),
    ] {
        let value =
            reqwest::header::HeaderValue::from_str(&value).map_err(|error| DomainError::Internal(error.to_string()))?;
        headers.insert(name, value);
    }
    Ok(client.post(&endpoint.url, headers, body, BODY_START_BYTES).await)
}

async fn record_attempt(
    db: &Store,
    tried: &Tried<'_>,
    answer: DomainResult<Result<crate::outbound::Answer, FetchError>>,
) -> DomainResult<AttemptOutcome> {
    let Tried {
        delivery,
        lease_until,
        endpoint,
        ..
    } = *tried;
    let answer = answer?;
    let now = Timestamp::now();
    let response_status = answer.as_ref().ok().map(|answer| i64::from(answer.status));
    let attempt = AttemptRow {
        id: ids::new_id("att"),
        delivery_id: delivery.id.clone(),
        started_at: tried.started_at.0,
        duration_ms: tried.duration_ms,
        response_status,
        response_body: answer
            .as_ref()
            .map(|answer| printable(&answer.body_start))
            .unwrap_or_default(),
        error: answer.as_ref().err().map(|error| printable(&error.to_string())),
    };
    let succeeded = response_status.is_some_and(|status| (200..300).contains(&status));
    let gone = response_status == Some(410);
    let retry_at = now.0 + micros(backoff(delivery.attempts, rand::random::<f64>()));
    let too_late = retry_at > delivery.created_at + GIVE_UP_SECONDS * 1_000_000;
    let (outcome, end) = match (succeeded, gone || too_late) {
        (true, _) => (AttemptOutcome::Succeeded, (DeliveryStatus::Succeeded, None)),
        (false, true) => (AttemptOutcome::Failed, (DeliveryStatus::Failed, None)),
        (false, false) => (AttemptOutcome::WillRetry, (DeliveryStatus::Pending, Some(retry_at))),
    };
    let mut tx = db.write().await?;
    store::insert_attempt(&mut tx, &attempt).await?;
    let end = AttemptEnd {
        status: end.0.as_str(),
        response_status,
        next_attempt_at: end.1,
    };
    if !store::finish_attempt(&mut tx, delivery, lease_until, &end, now.0).await? {
        // The lease ran out mid-attempt and the delivery is another worker's now: the
        // attempt stays in the log, its outcome is theirs to record.
        tx.commit().await?;
        tracing::warn!("a webhook attempt outlived its lease; its outcome is left to the next claim");
        return Ok(outcome);
    }
    if succeeded {
        store::mark_endpoint_working(&mut tx, &endpoint.id).await?;
    } else {
        // Failing since this attempt began, unless since earlier.
        let failing_since = store::mark_endpoint_failing(&mut tx, &endpoint.id, tried.started_at.0).await?;
        if gone {
            disable(&mut tx, endpoint, "the endpoint answered 410 Gone", now).await?;
        } else if too_late && failed_throughout(&mut tx, delivery, failing_since).await? {
            disable(&mut tx, endpoint, "its deliveries failed for 3 days", now).await?;
        }
        tracing::info!(
            attempts = delivery.attempts,
            ?response_status,
            error = attempt.error.as_deref(),
            "webhook delivery failed"
        );
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Whether the endpoint has failed without a success since `delivery` was first tried:
/// then a delivery that gives up after its 3 days of retries means 3 days of failures.
async fn failed_throughout(tx: &mut Conn, delivery: &DeliveryRow, failing_since: i64) -> DomainResult<bool> {
    let first_try = store::find_first_attempt(tx, &delivery.id).await?;
    Ok(first_try.is_some_and(|first_try| failing_since <= first_try))
}

/// What a receiver sent, fit to keep: no control characters but line breaks and tabs (a
/// NUL, which PostgreSQL's text refuses, would fail the attempt's record every time).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Disables an endpoint and tells the admins, by email through the outbox.
async fn disable(tx: &mut Conn, endpoint: &EndpointRow, reason: &str, now: Timestamp) -> DomainResult<()> {
    if !store::disable_endpoint(tx, &endpoint.id, reason, now.0).await? {
        return Ok(());
    }
    // Not its URL: one may carry a credential.
    tracing::warn!(endpoint_id = %endpoint.id, reason, "webhook endpoint disabled");
    for admin in store::list_admin_emails(tx).await? {
        let email = Email {
            to: admin,
            subject: "A webhook endpoint was disabled".to_owned(),
            text: format!(
                "Backroom stopped sending events to {url}: {reason}.\n\n\
                 Deliveries that were waiting go out when you enable the endpoint again (dashboard, \
                 Webhooks); events from now until then are not sent to it, and stay in the event log.\n",
                url = endpoint.url
            ),
        };
        outbox::enqueue(tx, &Message::Email(email)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks libraries' tests.
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .expect("signs");
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // The specification's own vector.
        let signed = signature(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .expect("signs");
        assert_eq!(signed, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn waits_grow_fourfold_with_jitter_and_a_ceiling() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(5));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(20));
        assert!(
            backoff(1, 0.999) < Duration::from_secs(10),
            "the first retry comes within 10 s"
        );
        assert!(backoff(1, 0.0) >= Duration::from_secs(4));
        assert_eq!(backoff(30, 0.5), Duration::from_secs(12 * 3600));
    }

    #[test]
    fn what_a_receiver_answered_is_kept_without_control_characters() {
        assert_eq!(printable("ok\0\u{7}\nline\ttab"), "ok\u{fffd}\u{fffd}\nline\ttab");
    }

    #[test]
    fn a_secret_is_32_random_bytes() {
        let secret = new_secret();
        let bytes = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(bytes.len(), 32);
        assert_ne!(secret, new_secret());
    }
}
