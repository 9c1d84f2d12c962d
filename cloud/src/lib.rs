//! The Jasiyo control plane as a library: the `jasiyo-cloud` binary is a thin shell over
//! it, and tests run it in-process.
//!
//! - [`accounts`]: the dashboard's people: sign-up, sign-in, sessions, passwords, links.
//! - [`alerts`]: alerts for owners (router offline, payments failing...), by e-mail and
//!   signed webhook.
//! - [`app`]: building and running the service.
//! - [`dashboard`]: the router owners' dashboard pages (rendering only).
//! - [`http`]: the routes.
//! - [`hub`]: the agents' WebSocket hub and per-router outbox delivery.
//! - [`payments`]: the money path, from STK push to hotspot user.
//! - [`portal`]: the captive portal page, "already paid?" recovery, and the router's
//!   hotspot files.
//! - [`notify`]: e-mail (one-time links, alerts).
//! - [`providers`]: Daraja, PayHero and Paystack behind one trait.
//! - [`store`]: SQLite and PostgreSQL persistence behind one trait.
//! - [`cli`]: the operator's command line.
//! - [`token`]: agent and operator tokens and their hashes.
//! - [`tally`]: durations counted into buckets (the database pool's waits).
//! - [`vouchers`]: printed codes sold for cash, loaded onto routers ahead of time.
//! - [`redact`]: what `Debug` and listings never show (tokens, passwords, receipts).

pub mod accounts;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod dashboard;
pub mod http;
pub mod hub;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod payments;
pub mod portal;
pub mod providers;
pub mod redact;
pub mod routers;
pub mod store;
pub mod tally;
pub mod time;
pub mod token;
pub mod trial;
pub mod vouchers;

pub use app::{App, CloudConfig};
