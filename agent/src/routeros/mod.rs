//! Talking to a MikroTik router through the RouterOS binary API (TCP 8728, or API-SSL on
//! 8729), implemented here: the protocol is small, and the existing crates are AGPL/GPL or
//! misread `=ret=` replies.
//!
//! - [`codec`]: words and sentences on the wire.
//! - [`sentence`]: requests and replies with meaning.
//! - [`client`]: one logged-in, multiplexed connection.
//! - [`error`]: typed failures.

pub mod client;
pub mod codec;
pub mod error;
pub mod sentence;

pub use client::{Client, Response};
pub use error::ApiError;
