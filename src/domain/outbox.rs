//! The outbox (design.md, invariant 4): a side effect outside the database (an email,
//! later a webhook) is written as a row in the transaction that decided it, and the
//! background job delivers it afterwards, retrying until it goes through. Nothing is
//! announced that did not happen, and nothing decided is forgotten.

use serde::{Deserialize, Serialize};

use super::ids;
use super::time::Timestamp;
use super::{DomainError, DomainResult};
use crate::store::outbox::{self as store, FailedDelivery, OutboxRow};
use crate::store::{Conn, Store};

/// Delivered messages are kept this long, then deleted.
const KEEP_DELIVERED_SECONDS: i64 = 24 * 3600;
/// A claimed message is not claimed again for this long: longer than the delivery of a
/// whole claim ([`CLAIM`] messages, [`SENDS_AT_ONCE`] at a time, each within the mailer's
/// 10 s timeout), so no other process delivers it meanwhile.
const LEASE_SECONDS: i64 = 120;
/// Messages claimed at once by one process.
pub const CLAIM: i64 = 50;
/// Messages sent at once; their outcomes are recorded together, so a crash in between
/// sends at most this many again once their lease is over.
pub const SENDS_AT_ONCE: usize = 8;
const _: () = assert!((CLAIM as usize).div_ceil(SENDS_AT_ONCE) as i64 * 10 < LEASE_SECONDS);
/// Retries wait 10 s, 40 s, 90 s... after the 1st, 2nd, 3rd failure.
const RETRY_BASE_SECONDS: i64 = 10;

/// An email waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// What a message asks to be done; its kind is stored beside its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Email(Email),
}

impl Message {
    fn kind(&self) -> &'static str {
        match self {
            Message::Email(_) => "email",
        }
    }

    fn payload(&self) -> DomainResult<String> {
        let encoded = match self {
            Message::Email(email) => serde_json::to_string(email),
        };
        encoded.map_err(|error| DomainError::Internal(error.to_string()))
    }

    fn parse(kind: &str, payload: &str) -> Result<Message, String> {
        match kind {
            "email" => serde_json::from_str(payload)
                .map(Message::Email)
                .map_err(|error| format!("unreadable email payload: {error}")),
            other => Err(format!("unknown outbox message kind {other:?}")),
        }
    }
}

/// Writes `message` in the caller's transaction: it is delivered only if that commits.
pub async fn enqueue(tx: &mut Conn, message: &Message) -> DomainResult<()> {
    let now = Timestamp::now().0;
    store::insert_message(tx, &ids::new_id("msg"), message.kind(), &message.payload()?, now).await?;
    Ok(())
}

/// A message claimed for delivery by this process.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    /// The message, or why it cannot be read (it then fails and is retried, in case a
    /// newer process understands it).
    pub message: Result<Message, String>,
    attempts: i64,
}

/// Claims up to `limit` due messages, each at most once at a time across every process.
pub async fn claim_due(db: &Store, limit: i64) -> DomainResult<Vec<Claimed>> {
    let now = Timestamp::now();
    let rows = store::claim_due(db, now.0, now.plus_seconds(LEASE_SECONDS).0, limit).await?;
    Ok(rows
        .into_iter()
        .map(
            |OutboxRow {
                 id,
                 kind,
                 payload,
                 attempts,
             }| Claimed {
                message: Message::parse(&kind, &payload),
                id,
                attempts,
            },
        )
        .collect())
}

/// Records the outcomes of deliveries, in one transaction: done, or to be retried later,
/// waiting longer after each attempt.
pub async fn record_deliveries(db: &Store, outcomes: &[(&Claimed, Result<(), String>)]) -> DomainResult<()> {
    let now = Timestamp::now();
    let mut delivered = Vec::new();
    let mut failed = Vec::new();
    for (claimed, outcome) in outcomes {
        match outcome {
            Ok(()) => delivered.push(claimed.id.as_str()),
            Err(error) => {
                let attempts = claimed.attempts + 1;
                let wait = RETRY_BASE_SECONDS * attempts.pow(2);
                tracing::warn!(message_id = %claimed.id, attempts, %error, "outbox delivery failed; will retry");
                failed.push(FailedDelivery {
                    id: &claimed.id,
                    error,
                    retry_at: now.plus_seconds(wait).0,
                });
            }
        }
    }
    store::record_deliveries(db, &delivered, &failed, now.0).await?;
    Ok(())
}

/// Deletes messages delivered over a day ago.
pub async fn delete_delivered(db: &Store) -> DomainResult<u64> {
    let mut tx = db.write().await?;
    let before = Timestamp::now().plus_seconds(-KEEP_DELIVERED_SECONDS).0;
    let deleted = store::delete_delivered_before(&mut tx, before).await?;
    tx.commit().await?;
    Ok(deleted)
}
