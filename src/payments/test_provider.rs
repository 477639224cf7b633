//! The built-in test provider, after Stripe's test tokens (contract: Carts and checkout).
//!
//! It keeps its own ledger of every capture and refund (the `test_provider_charges` table,
//! standing in for the provider's side), keyed by the idempotency key it is called with:
//! calling twice with one key records one charge and answers the same, as a real provider
//! does. Tests count charges in that ledger.

use futures_util::future::BoxFuture;

use crate::domain::money::Money;
use crate::domain::payments::{CaptureOutcome, PaymentProvider, ProviderError};
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

    async fn capture(&self, key: &str, token: &str, amount: Money) -> Result<CaptureOutcome, ProviderError> {
        if let Some(delay) = self.faults.capture_delay {
            tokio::time::sleep(delay).await;
        }
        if self.faults.garbage_answers {
            return Err(ProviderError(
                "the provider answered something that is not a capture result".to_owned(),
            ));
        }
        let (outcome, decline_code) = match behaviour(token) {
            Some(TokenBehaviour::Succeed) => ("captured", None),
            Some(TokenBehaviour::Decline(code)) => ("declined", Some(code)),
            Some(TokenBehaviour::Fail) => return Err(ProviderError("processing error at the card network".to_owned())),
            None => return Err(ProviderError(format!("unknown payment token {token:?}"))),
        };
        let row = ChargeRow {
            idempotency_key: key.to_owned(),
            kind: "capture".to_owned(),
            payment_token: token.to_owned(),
            amount: amount.amount,
            currency: amount.currency.to_string(),
            outcome: outcome.to_owned(),
            decline_code: decline_code.map(str::to_owned),
            created_at: Timestamp::now().0,
        };
        let recorded = ledger::record_charge(&self.ledger, &row)
            .await
            .map_err(unreachable_ledger)?;
        Ok(outcome_of(&recorded, key))
    }

    async fn find_capture(&self, key: &str) -> Result<Option<CaptureOutcome>, ProviderError> {
        let found = ledger::find_charge(&self.ledger, key)
            .await
            .map_err(unreachable_ledger)?;
        Ok(found
            .filter(|charge| charge.kind == "capture")
            .map(|charge| outcome_of(&charge, key)))
    }

    async fn refund(&self, key: &str, capture_key: &str, amount: Money) -> Result<(), ProviderError> {
        let row = ChargeRow {
            idempotency_key: key.to_owned(),
            kind: "refund".to_owned(),
            payment_token: capture_key.to_owned(),
            amount: amount.amount,
            currency: amount.currency.to_string(),
            outcome: "refunded".to_owned(),
            decline_code: None,
            created_at: Timestamp::now().0,
        };
        ledger::record_charge(&self.ledger, &row)
            .await
            .map_err(unreachable_ledger)?;
        Ok(())
    }
}

impl PaymentProvider for TestProvider {
    fn recognizes(&self, token: &str) -> bool {
        behaviour(token).is_some()
    }

    fn capture<'a>(
        &'a self,
        idempotency_key: &'a str,
        token: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<CaptureOutcome, ProviderError>> {
        Box::pin(TestProvider::capture(self, idempotency_key, token, amount))
    }

    fn find_capture<'a>(
        &'a self,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaptureOutcome>, ProviderError>> {
        Box::pin(TestProvider::find_capture(self, idempotency_key))
    }

    fn refund<'a>(
        &'a self,
        idempotency_key: &'a str,
        capture_key: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(TestProvider::refund(self, idempotency_key, capture_key, amount))
    }
}

fn outcome_of(charge: &ChargeRow, key: &str) -> CaptureOutcome {
    match charge.decline_code.clone() {
        Some(decline_code) => CaptureOutcome::Declined { decline_code },
        None => CaptureOutcome::Captured {
            reference: format!("test_ch_{key}"),
        },
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
