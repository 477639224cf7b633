//! The payment provider port: what checkout, fulfilment and refunds need of a provider,
//! written here so the rules depend on no provider; the providers themselves (the
//! built-in test provider, Stripe) live in `crate::payments` and implement
//! [`PaymentProvider`].
//!
//! Every call carries an idempotency key derived from Backroom's own payment or refund
//! id and the step (design.md, invariant 2), so a retry after a crash cannot charge
//! twice, and every call is bounded by the provider timeout ([`Payments`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::money::Money;

/// When the money moves: at checkout, or when staff fulfil the order (the checkout only
/// authorizes it, and a cancel releases the authorization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

impl CaptureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Automatic => "automatic",
            CaptureMode::Manual => "manual",
        }
    }

    pub fn parse(value: &str) -> Option<CaptureMode> {
        [CaptureMode::Automatic, CaptureMode::Manual]
            .into_iter()
            .find(|mode| mode.as_str() == value)
    }
}

/// A charge to ask for: Backroom's payment id (the root of every idempotency key), the
/// customer's payment method, the priced order's amount, and when to capture.
#[derive(Debug, Clone, Copy)]
pub struct ChargeRequest<'a> {
    pub payment_id: &'a str,
    pub method: &'a str,
    pub amount: Money,
    pub capture: CaptureMode,
}

/// What a provider knows of a charge. `reference` is the provider's id for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Captured {
        reference: String,
    },
    /// The money is held for a later capture (manual capture).
    Authorized {
        reference: String,
    },
    /// The customer must act first (3-D Secure); their browser needs `client_secret`.
    RequiresAction {
        reference: String,
        client_secret: String,
    },
    Declined {
        decline_code: String,
    },
    /// Nothing was charged and nothing will be: the attempt is over (a processing error,
    /// an abandoned or canceled charge).
    Failed {
        reason: String,
    },
}

/// A provider call whose outcome is unknown: it could not be reached, did not answer in
/// time, answered a 5xx, or answered nonsense. The charge may or may not have happened;
/// only asking the provider again ([`PaymentProvider::lookup`]) tells.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// The answer to a capture, cancel or refund: done, or refused for a known reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Done { reference: Option<String> },
    Refused { reason: String },
}

/// A provider event (a webhook) that concerns one of Backroom's payments, verified.
#[derive(Debug, Clone)]
pub struct ProviderEvent {
    /// The provider's event id: an event seen once is not applied again.
    pub id: String,
    pub kind: String,
    /// Backroom's payment id, as the provider was given it.
    pub payment_id: Option<String>,
    /// The provider's id of the charge the event is about.
    pub reference: String,
    /// What the event says became of the charge; `None` for events that change nothing.
    pub outcome: Option<ChargeOutcome>,
    /// The amount and currency the provider charged, to be checked against ours.
    pub amount: Option<Money>,
}

/// Why a webhook is refused (answered 400): its signature, its age, or its body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct WebhookRefusal(pub String);

/// A payment provider. Methods return boxed futures so that providers can be chosen at
/// run time (`dyn PaymentProvider`).
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, kept on each payment (`test`, `stripe`).
    fn name(&self) -> &'static str;

    /// True when `method` is a payment method this provider knows how to charge.
    fn recognizes(&self, method: &str) -> bool;

    /// Makes the provider's record of a charge before anything is charged, returning its
    /// reference, which the caller keeps before [`PaymentProvider::charge`]: so the outcome
    /// of a charge can always be looked up by its reference, and an attempt without one
    /// was never charged. A failure here charged nothing. Providers that need no such
    /// record answer `None`.
    fn prepare<'a>(&'a self, request: ChargeRequest<'a>) -> BoxFuture<'a, Result<Option<String>, ProviderError>> {
        let _ = request;
        Box::pin(async { Ok(None) })
    }

    /// Charges (or, with manual capture, authorizes) once per payment id however often
    /// it is called; `reference` is what [`PaymentProvider::prepare`] answered.
    fn charge<'a>(
        &'a self,
        request: ChargeRequest<'a>,
        reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ChargeOutcome, ProviderError>>;

    /// What became of the charge of `request` (with the provider's `reference` when it is
    /// known); `None` if the provider never saw it.
    fn lookup<'a>(
        &'a self,
        request: ChargeRequest<'a>,
        reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<ChargeOutcome>, ProviderError>>;

    /// Captures an authorized charge.
    fn capture<'a>(
        &'a self,
        payment_id: &'a str,
        reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>>;

    /// Cancels a charge not captured (an abandoned action, a released authorization).
    fn cancel<'a>(
        &'a self,
        payment_id: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>>;

    /// Refunds `amount` of a captured charge, once per `refund_id`.
    fn refund<'a>(
        &'a self,
        refund_id: &'a str,
        reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<StepOutcome, ProviderError>>;

    /// Verifies and reads a webhook: `Ok(None)` for a genuine event that concerns no
    /// payment (an unknown type).
    fn verify_event(&self, signature: &str, body: &[u8]) -> Result<Option<ProviderEvent>, WebhookRefusal> {
        let _ = (signature, body);
        Err(WebhookRefusal(format!(
            "the {} provider sends no webhooks",
            self.name()
        )))
    }
}

/// The shop's provider, with the time any call to it may take (past it, the outcome is
/// unknown) and when it captures.
#[derive(Clone)]
pub struct Payments {
    provider: Arc<dyn PaymentProvider>,
    timeout: Duration,
    capture: CaptureMode,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("provider", &self.provider.name())
            .field("timeout", &self.timeout)
            .field("capture", &self.capture)
            .finish()
    }
}

impl Payments {
    pub fn new(provider: impl PaymentProvider + 'static, timeout: Duration, capture: CaptureMode) -> Self {
        Payments {
            provider: Arc::new(provider),
            timeout,
            capture,
        }
    }

    pub fn name(&self) -> &'static str {
        self.provider.name()
    }

    pub fn capture_mode(&self) -> CaptureMode {
        self.capture
    }

    pub fn recognizes(&self, method: &str) -> bool {
        self.provider.recognizes(method)
    }

    pub async fn prepare(&self, request: ChargeRequest<'_>) -> Result<Option<String>, ProviderError> {
        self.in_time(self.provider.prepare(request)).await
    }

    pub async fn charge(
        &self,
        request: ChargeRequest<'_>,
        reference: Option<&str>,
    ) -> Result<ChargeOutcome, ProviderError> {
        self.in_time(self.provider.charge(request, reference)).await
    }

    pub async fn lookup(
        &self,
        request: ChargeRequest<'_>,
        reference: Option<&str>,
    ) -> Result<Option<ChargeOutcome>, ProviderError> {
        self.in_time(self.provider.lookup(request, reference)).await
    }

    pub async fn capture(
        &self,
        payment_id: &str,
        reference: &str,
        amount: Money,
    ) -> Result<StepOutcome, ProviderError> {
        self.in_time(self.provider.capture(payment_id, reference, amount)).await
    }

    pub async fn cancel(&self, payment_id: &str, reference: &str) -> Result<StepOutcome, ProviderError> {
        self.in_time(self.provider.cancel(payment_id, reference)).await
    }

    pub async fn refund(&self, refund_id: &str, reference: &str, amount: Money) -> Result<StepOutcome, ProviderError> {
        self.in_time(self.provider.refund(refund_id, reference, amount)).await
    }

    pub fn verify_event(&self, signature: &str, body: &[u8]) -> Result<Option<ProviderEvent>, WebhookRefusal> {
        self.provider.verify_event(signature, body)
    }

    async fn in_time<T>(&self, call: impl Future<Output = Result<T, ProviderError>>) -> Result<T, ProviderError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(ProviderError("the payment provider did not answer in time".to_owned())))
    }
}
