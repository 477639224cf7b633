//! Payment providers: the implementations of the domain's port
//! (`domain::payments::PaymentProvider`). The built-in test provider follows Stripe's
//! test tokens and keeps its own ledger; Stripe is reached over its REST API.

mod stripe;
mod test_provider;

use std::time::Duration;

pub use stripe::{STRIPE_JS_URL, STRIPE_VERSION, StripeConfig, StripeProvider};
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

    /// The storefront's card form, when Stripe takes the payments and the shop gave its
    /// publishable key.
    pub fn card_form(&self) -> Option<CardForm> {
        let ProviderChoice::Stripe(config) = &self.provider else {
            return None;
        };
        let publishable_key = config.publishable_key.clone()?;
        let script_origin = origin_of(&config.js_url);
        // Stripe.js frames the card fields and 3-D Secure from its own origin and talks to
        // Stripe's API (api.stripe.com, whatever the server's API base); the page allows
        // exactly those, and only on the checkout.
        let content_security_policy = format!(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self' {script_origin}; frame-src {script_origin} https://hooks.stripe.com; \
             connect-src 'self' {script_origin} https://api.stripe.com; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'"
        );
        Some(CardForm {
            publishable_key,
            script_url: config.js_url.clone(),
            content_security_policy,
        })
    }
}

/// What the checkout page needs to take cards with Stripe.js.
#[derive(Debug, Clone)]
pub struct CardForm {
    pub publishable_key: String,
    pub script_url: String,
    /// The checkout page's Content-Security-Policy, which lets Stripe.js in.
    pub content_security_policy: String,
}

/// `https://host[:port]` of a URL (the whole text when it is not one).
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
    url[..end].to_owned()
}
