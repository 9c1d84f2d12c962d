//! Why an agent's session ended, as its log line and metrics say it.

use jasiyo_shared::CodecError;

use crate::hub::OFFLINE_AFTER_HEARTBEATS;
use crate::store::StoreError;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum End {
    #[error("agent closed the link")]
    Closed,
    #[error("replaced by a newer connection, or shutting down")]
    Cancelled,
    #[error("no word from the agent for {} heartbeats", OFFLINE_AFTER_HEARTBEATS)]
    Silent,
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("bad frame: {0}")]
    Frame(#[from] CodecError),
    #[error("link error: {0}")]
    Link(#[from] axum::Error),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    #[error("the router's token was revoked or rotated")]
    TokenChanged,
    #[error("too many messages dropped by the write limits")]
    Abuse,
}
