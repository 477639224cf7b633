//! The built-in test provider, after Stripe's test tokens (contract: Carts and checkout).
//!
//! It keeps its own ledger of every capture and refund (the `test_provider_charges` table,
//! standing in for the provider's side), keyed by the idempotency key it is called with:
//! calling twice with one key records one charge and answers the same, as a real provider
//! does. Tests count charges in that ledger.

use futures_util::future::BoxFuture;

use crate::domain::money::Money;
use crate::domain::payments::{CaptureMode, ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, StepOutcome};
use crate::domain::time::Timestamp;
use crate::store::Store;
use crate::store::test_provider::{self as ledger, ChargeRow};

#[derive(Debug, Clone)]
pub struct TestProvider {
    ledger: Store,
    faults: TestProviderFaults,
}

/// Ways the test provider can misbehave, for tests of Backroom's side of a bad provider.
/// Set only in-process, through `ServerOptions`; nothing outside a test reaches them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestProviderFaults {
    /// Every capture first waits this long (a provider that hangs).
    pub capture_delay: Option<std::time::Duration>,
    /// Every capture answers something that cannot be understood.
    pub garbage_answers: bool,
}

/// The tokens the test provider knows, with what each does, for pickers in the web UI.
pub const TEST_CARDS: [(&str, &str); 4] = [
    ("tok_visa", "Visa ending 4242 (succeeds)"),
    ("tok_chargeDeclined", "Card declined"),
    ("tok_chargeDeclinedInsufficientFunds", "Declined: insufficient funds"),
    ("tok_chargeDeclinedProcessingError", "Processing error"),
];

enum TokenBehaviour {
    Succeed,
    Decline(&'static str),
    Fail,
}

fn behaviour(token: &str) -> Option<TokenBehaviour> {
    match token {
        "tok_visa" => Some(TokenBehaviour::Succeed),
        "tok_chargeDeclined" => Some(TokenBehaviour::Decline("generic_decline")),
        "tok_chargeDeclinedInsufficientFunds" => Some(TokenBehaviour::Decline("insufficient_funds")),
        "tok_chargeDeclinedProcessingError" => Some(TokenBehaviour::Fail),
        _ => None,
    }
}

impl TestProvider {
    pub fn new(ledger: Store, faults: TestProviderFaults) -> Self {
        TestProvider { ledger, faults }
    }

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<ChargeOutcome, ProviderError> {
        if let Some(delay) = self.faults.capture_delay {
            tokio::time::sleep(delay).await;
        }
        if self.faults.garbage_answers {
            return Err(ProviderError(
                "the provider answered something that is not a charge result".to_owned(),
            ));
        }
        let (kind, outcome, decline_code) = match behaviour(request.method) {
            Some(TokenBehaviour::Succeed) => match request.capture {
                CaptureMode::Automatic => (CAPTURE, CAPTURED, None),
                CaptureMode::Manual => (AUTHORIZATION, AUTHORIZED, None),
            },
            Some(TokenBehaviour::Decline(code)) => (CAPTURE, DECLINED, Some(code)),
            Some(TokenBehaviour::Fail) => {
                return Ok(ChargeOutcome::Failed {
                    reason: "processing error at the card network".to_owned(),
                });
            }
            None => {
                return Ok(ChargeOutcome::Failed {
                    reason: format!("unknown payment token {:?}", request.method),
                });
            }
        };
        let row = ChargeRow {
            idempotency_key: request.payment_id.to_owned(),
            kind: kind.to_owned(),
            payment_token: request.method.to_owned(),
            amount: request.amount.amount,
            currency: request.amount.currency.to_string(),
            outcome: outcome.to_owned(),
            decline_code: decline_code.map(str::to_owned),
            created_at: Timestamp::now().0,
        };
        let recorded = ledger::record_charge(&self.ledger, &row)
            .await
            .map_err(unreachable_ledger)?;
        Ok(outcome_of(&recorded))
    }

    async fn lookup(&self, payment_id: &str) -> Result<Option<ChargeOutcome>, ProviderError> {
        let found = ledger::find_charge(&self.ledger, payment_id)
            .await
            .map_err(unreachable_ledger)?;
        let Some(charge) = found else { return Ok(None) };
        // A captured authorization reads as captured, as a provider's charge would.
        let closed = ledger::find_charge(&self.ledger, &step_key(payment_id, CLOSE))
            .await
            .map_err(unreachable_ledger)?;
        Ok(Some(match closed {
            Some(close) if close.kind == CAPTURE => ChargeOutcome::Captured {
                reference: reference_of(payment_id),
            },
            _ => outcome_of(&charge),
        }))
    }

    /// Records a step (a capture of an authorization, a release, a refund) once per key,
    /// and answers the row recorded under it. A release moves no amount: it has none.
    async fn record_step(
        &self,
        key: String,
        (kind, outcome): (&str, &str),
        reference: &str,
        amount: Option<Money>,
    ) -> Result<ChargeRow, ProviderError> {
        let row = ChargeRow {
            idempotency_key: key,
            kind: kind.to_owned(),
            payment_token: reference.to_owned(),
            amount: amount.map_or(0, |money| money.amount),
            currency: amount.map_or_else(String::new, |money| money.currency.to_string()),
            outcome: outcome.to_owned(),
            decline_code: None,
            created_at: Timestamp::now().0,
        };
        ledger::record_charge(&self.ledger, &row)
            .await
            .map_err(unreachable_ledger)
    }

    async fn step(
        &self,
        key: String,
        kind: (&str, &str),
        reference: &str,
        amount: Option<Money>,
    ) -> Result<StepOutcome, ProviderError> {
        let recorded = self.record_step(key, kind, reference, amount).await?;
        Ok(StepOutcome::Done {
            reference: Some(format!("test_{}", recorded.idempotency_key)),
        })
    }

    /// Ends an authorization by capturing or releasing it; one ledger row per payment
    /// (`{payment}:close`) decides which, so a capture and a release racing cannot both
    /// happen.
    async fn close(
        &self,
        payment_id: &str,
        (kind, outcome): (&str, &str),
        reference: &str,
        amount: Option<Money>,
    ) -> Result<StepOutcome, ProviderError> {
        let authorized = ledger::find_charge(&self.ledger, payment_id)
            .await
            .map_err(unreachable_ledger)?
            .is_some_and(|charge| charge.kind == AUTHORIZATION);
        if !authorized {
            return Ok(StepOutcome::Refused {
                reason: "there is no authorization to capture or release".to_owned(),
            });
        }
        let recorded = self
            .record_step(step_key(payment_id, CLOSE), (kind, outcome), reference, amount)
            .await?;
        if recorded.kind == kind {
            Ok(StepOutcome::Done {
                reference: Some(reference.to_owned()),
            })
        } else {
            Ok(StepOutcome::Refused {
                reason: format!("the authorization was already ended by a {}", recorded.kind),
            })
        }
    }
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn recognizes(&self, token: &str) -> bool {
        behaviour(token).is_some()
    }

    fn charge<'a>(
        &'a self,
        request: ChargeRequest<'a>,
        _reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ChargeOutcome, ProviderError>> {
        Box::pin(TestProvider::charge(self, request))
    }

    fn lookup<'a>(
        &'a self,
        request: ChargeRequest<'a>,
        _reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<ChargeOutcome>, ProviderError>> {
        Box::pin(TestProvider::lookup(self, request.payment_id))
    }

    fn capture<'a>(
        &'a self,
        payment_id: &'a str,
        reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>> {
        Box::pin(self.close(payment_id, (CAPTURE, CAPTURED), reference, Some(amount)))
    }

    fn cancel<'a>(
        &'a self,
        payment_id: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>> {
        Box::pin(self.close(payment_id, (RELEASE, RELEASE), reference, None))
    }

    fn refund<'a>(
        &'a self,
        refund_id: &'a str,
        reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>> {
        Box::pin(self.step(refund_id.to_owned(), (REFUND, REFUNDED), reference, Some(amount)))
    }
}

/// The ledger's kinds of row; a capture of an authorization is a `capture` too, so tests
/// count every capture the same way.
const CAPTURE: &str = "capture";
const AUTHORIZATION: &str = "authorization";
const RELEASE: &str = "release";
/// The key suffix of the one row that ends an authorization (a capture or a release).
const CLOSE: &str = "close";
const REFUND: &str = "refund";
const CAPTURED: &str = "captured";
const AUTHORIZED: &str = "authorized";
const DECLINED: &str = "declined";
const REFUNDED: &str = "refunded";

fn step_key(payment_id: &str, step: &str) -> String {
    format!("{payment_id}:{step}")
}

fn reference_of(payment_id: &str) -> String {
    format!("test_ch_{payment_id}")
}

fn outcome_of(charge: &ChargeRow) -> ChargeOutcome {
    let reference = reference_of(&charge.idempotency_key);
    match (charge.decline_code.clone(), charge.kind.as_str()) {
        (Some(decline_code), _) => ChargeOutcome::Declined { decline_code },
        (None, AUTHORIZATION) => ChargeOutcome::Authorized { reference },
        (None, _) => ChargeOutcome::Captured { reference },
    }
}

fn unreachable_ledger(error: crate::store::StoreError) -> ProviderError {
    ProviderError(format!("test provider ledger unavailable: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_test_card_has_a_behaviour() {
        for (token, _) in TEST_CARDS {
            assert!(behaviour(token).is_some(), "{token}");
        }
    }
}
