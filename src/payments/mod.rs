//! Payment providers. Backroom calls a provider to capture and refund, always with an
//! idempotency key derived from its own payment or refund id (design.md, invariant 2), so
//! a retry after a crash cannot charge twice.
//!
//! Providers are an enum rather than a trait object: there are few of them, and an enum
//! keeps `async fn` without boxing. A real provider (Stripe) becomes another variant.

mod test_provider;

pub use test_provider::{TEST_CARDS, TestProvider, TestProviderFaults};

use std::time::Duration;

use crate::domain::money::Money;

/// A payment provider, with the time any call to it may take: past it, the call failed.
#[derive(Debug, Clone)]
pub struct PaymentProvider {
    backend: Backend,
    timeout: Duration,
}

#[derive(Debug, Clone)]
enum Backend {
    Test(TestProvider),
}

/// What a provider said about a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureOutcome {
    Captured { reference: String },
    Declined { decline_code: String },
}

/// The provider could not be reached, did not answer in time, or answered nonsense.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

impl PaymentProvider {
    pub fn test(provider: TestProvider, timeout: Duration) -> Self {
        PaymentProvider {
            backend: Backend::Test(provider),
            timeout,
        }
    }

    /// True when `token` is a payment method this provider knows how to charge.
    pub fn recognizes(&self, token: &str) -> bool {
        match &self.backend {
            Backend::Test(provider) => provider.recognizes(token),
        }
    }

    pub async fn capture(
        &self,
        idempotency_key: &str,
        token: &str,
        amount: Money,
    ) -> Result<CaptureOutcome, ProviderError> {
        self.in_time(async {
            match &self.backend {
                Backend::Test(provider) => provider.capture(idempotency_key, token, amount).await,
            }
        })
        .await
    }

    /// What became of an earlier capture with this key, `None` if the provider never saw it.
    pub async fn find_capture(&self, idempotency_key: &str) -> Result<Option<CaptureOutcome>, ProviderError> {
        self.in_time(async {
            match &self.backend {
                Backend::Test(provider) => provider.find_capture(idempotency_key).await,
            }
        })
        .await
    }

    pub async fn refund(&self, idempotency_key: &str, capture_key: &str, amount: Money) -> Result<(), ProviderError> {
        self.in_time(async {
            match &self.backend {
                Backend::Test(provider) => provider.refund(idempotency_key, capture_key, amount).await,
            }
        })
        .await
    }

    async fn in_time<T>(&self, call: impl Future<Output = Result<T, ProviderError>>) -> Result<T, ProviderError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(ProviderError("the payment provider did not answer in time".to_owned())))
    }
}
