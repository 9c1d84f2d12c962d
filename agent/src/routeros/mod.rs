//! Talking to a MikroTik router through the RouterOS binary API (TCP 8728, or API-SSL on
//! 8729), implemented here: the protocol is small, and the existing crates are AGPL/GPL or
//! misread `=ret=` replies.
//!
//! - [`codec`]: words and sentences on the wire.
//! - [`sentence`]: requests and replies with meaning.
//! - [`client`]: one logged-in, multiplexed connection.
//! - [`router`]: the router, reconnecting as needed; [`tls`] for API-SSL.
//! - [`ops`]: typed hotspot operations, the only code that knows menu paths (with
//!   [`profiles`] for user profiles and [`server_profiles`] for the server profiles).
//! - [`time`]: RouterOS time intervals.
//! - [`error`]: typed failures.

pub mod client;
pub mod codec;
pub mod error;
pub mod ops;
pub mod profiles;
pub mod router;
pub mod sentence;
pub mod server_profiles;
pub mod time;
pub mod tls;

pub use client::{Client, Response};
pub use error::ApiError;
pub use ops::{ActiveSession, RouterInfo, UserRow, UserSpec};
pub use router::{Connections, Router, RouterOsConfig};
pub use tls::{RouterTls, RouterTrust};
