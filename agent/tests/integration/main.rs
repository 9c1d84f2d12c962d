//! The agent's integration tests, one test binary: its link against a fake cloud over a
//! real WebSocket (plain and TLS), and its RouterOS client over API-SSL.

mod link;
mod routeros_tls;
mod support;
mod tls;
