//! Backroom: the commerce backend in one binary.
//!
//! Layers, with data flowing one way: [`http`], [`web`] and [`jobs`] → [`app`] → [`domain`]
//! → [`store`] (`docs/architecture.md` draws them). [`payments`]
//! holds the payment providers, [`jobs`] the background work, [`server`] and [`cli`] the
//! process around them.

pub mod app;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod faults;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod outbound;
pub mod payments;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod web;
