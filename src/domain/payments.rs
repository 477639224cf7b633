//! The payment provider port: what checkout and refunds need of a provider, written here
//! so the rules depend on no provider; the providers themselves (the built-in test
//! provider, Stripe) live in `crate::payments` and implement [`PaymentProvider`].
//!
//! Every call carries an idempotency key derived from Backroom's own payment or refund
//! id (design.md, invariant 2), so a retry after a crash cannot charge twice, and every
//! call is bounded by the provider timeout ([`Payments`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::money::Money;

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

/// A payment provider. Methods return boxed futures so that providers can be chosen at
/// run time (`dyn PaymentProvider`).
pub trait PaymentProvider: Send + Sync {
    /// True when `token` is a payment method this provider knows how to charge.
    fn recognizes(&self, token: &str) -> bool;

    /// Charges `amount` to `token`, once per `idempotency_key` however often it is called.
    fn capture<'a>(
        &'a self,
        idempotency_key: &'a str,
        token: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<CaptureOutcome, ProviderError>>;

    /// What became of an earlier capture with this key; `None` if the provider never saw it.
    fn find_capture<'a>(
        &'a self,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaptureOutcome>, ProviderError>>;

    /// Refunds `amount` of the capture made with `capture_key`, once per `idempotency_key`.
    fn refund<'a>(
        &'a self,
        idempotency_key: &'a str,
        capture_key: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

/// The shop's provider, with the time any call to it may take: past it, the call failed.
#[derive(Clone)]
pub struct Payments {
    provider: Arc<dyn PaymentProvider>,
    timeout: Duration,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments").field("timeout", &self.timeout).finish()
    }
}

impl Payments {
    pub fn new(provider: impl PaymentProvider + 'static, timeout: Duration) -> Self {
        Payments {
            provider: Arc::new(provider),
            timeout,
        }
    }

    pub fn recognizes(&self, token: &str) -> bool {
        self.provider.recognizes(token)
    }

    pub async fn capture(
        &self,
        idempotency_key: &str,
        token: &str,
        amount: Money,
    ) -> Result<CaptureOutcome, ProviderError> {
        self.in_time(self.provider.capture(idempotency_key, token, amount))
            .await
    }

    pub async fn find_capture(&self, idempotency_key: &str) -> Result<Option<CaptureOutcome>, ProviderError> {
        self.in_time(self.provider.find_capture(idempotency_key)).await
    }

    pub async fn refund(&self, idempotency_key: &str, capture_key: &str, amount: Money) -> Result<(), ProviderError> {
        self.in_time(self.provider.refund(idempotency_key, capture_key, amount))
            .await
    }

    async fn in_time<T>(&self, call: impl Future<Output = Result<T, ProviderError>>) -> Result<T, ProviderError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(ProviderError("the payment provider did not answer in time".to_owned())))
    }
}
