//! The agent's integration tests, one test binary: its link against a fake cloud over a
//! real WebSocket (plain and TLS), protocol versions against old and new clouds, and its RouterOS client over API-SSL.

mod link;
mod protocol;
mod reconnect;
mod routeros_tls;
mod support;
mod tls;
