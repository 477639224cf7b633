//! Payment providers: the implementations of the domain's port
//! (`domain::payments::PaymentProvider`). The built-in test provider follows Stripe's
//! test tokens and keeps its own ledger.

mod test_provider;

pub use test_provider::{TEST_CARDS, TestProvider, TestProviderFaults};
