//! Payment providers: the implementations of the domain's port
//! (`domain::payments::PaymentProvider`). The built-in test provider follows Stripe's
//! test tokens and keeps its own ledger; Stripe is reached over its REST API.

mod stripe;
mod test_provider;

use std::time::Duration;

pub use stripe::{STRIPE_VERSION, StripeConfig, StripeProvider, verify_signature};
pub use test_provider::{TEST_CARDS, TestProvider, TestProviderFaults};

use crate::domain::payments::{CaptureMode, Payments};
use crate::store::Store;

/// Which provider takes the shop's payments, and when it captures.
#[derive(Debug, Clone, Default)]
pub struct PaymentSettings {
    pub provider: ProviderChoice,
    pub capture: CaptureMode,
}

#[derive(Debug, Clone, Default)]
pub enum ProviderChoice {
    #[default]
    Test,
    Stripe(StripeConfig),
}

impl PaymentSettings {
    /// The provider these settings choose, each call bounded by `timeout`.
    pub fn build(&self, store: &Store, faults: TestProviderFaults, timeout: Duration) -> Result<Payments, String> {
        Ok(match &self.provider {
            ProviderChoice::Test => Payments::new(TestProvider::new(store.clone(), faults), timeout, self.capture),
            ProviderChoice::Stripe(config) => {
                Payments::new(StripeProvider::new(config.clone(), timeout)?, timeout, self.capture)
            }
        })
    }

    /// The key the storefront's Stripe.js needs, when Stripe takes the payments.
    pub fn stripe_publishable_key(&self) -> Option<&str> {
        match &self.provider {
            ProviderChoice::Stripe(config) => config.publishable_key.as_deref(),
            ProviderChoice::Test => None,
        }
    }
}
