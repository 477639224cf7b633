//! Backroom's API tests: each test boots a real server with a fresh database and talks HTTP to it.

mod support;

mod access;
mod addresses;
mod admin_catalog;
mod auth;
mod authorization;
mod browser;
mod carts;
mod catalog;
mod checkout;
mod cli;
mod content;
mod conventions;
mod crash;
mod currencies;
mod discounts;
mod document;
mod durability;
mod edge_cases;
mod hangups;
mod idempotency;
mod invariants;
mod migrations;
mod ops;
mod orders;
mod password_reset;
mod pricing;
mod pricing_properties;
mod properties;
mod security;
mod shipping;
mod shop;
mod slow_clients;
mod stripe;
mod web;
