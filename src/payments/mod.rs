//! Payment providers. Backroom calls a provider to capture and refund, always with an
//! idempotency key derived from its own payment or refund id (design.md, invariant 2), so
//! a retry after a crash cannot charge twice.
//!
//! Providers are an enum rather than a trait object: there are few of them, and an enum
//! keeps `async fn` without boxing. A real provider (Stripe) becomes another variant.

mod test_provider;

pub use test_provider::{TestProvider, TestProviderFaults};

use crate::domain::money::Money;

#[derive(Debug, Clone)]
pub enum PaymentProvider {
    Test(TestProvider),
}

/// What a provider said about a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureOutcome {
    Captured { reference: String },
    Declined { decline_code: String },
}

/// The provider could not be reached or answered nonsense: nothing was charged.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

impl PaymentProvider {
    /// True when `token` is a payment method this provider knows how to charge.
    pub fn recognizes(&self, token: &str) -> bool {
        match self {
            PaymentProvider::Test(provider) => provider.recognizes(token),
        }
    }

    pub async fn capture(
        &self,
        idempotency_key: &str,
        token: &str,
        amount: Money,
    ) -> Result<CaptureOutcome, ProviderError> {
        match self {
            PaymentProvider::Test(provider) => provider.capture(idempotency_key, token, amount).await,
        }
    }

    /// What became of an earlier capture with this key, `None` if the provider never saw it.
    pub async fn find_capture(&self, idempotency_key: &str) -> Result<Option<CaptureOutcome>, ProviderError> {
        match self {
            PaymentProvider::Test(provider) => provider.find_capture(idempotency_key).await,
        }
    }

    pub async fn refund(&self, idempotency_key: &str, capture_key: &str, amount: Money) -> Result<(), ProviderError> {
        match self {
            PaymentProvider::Test(provider) => provider.refund(idempotency_key, capture_key, amount).await,
        }
    }
}
