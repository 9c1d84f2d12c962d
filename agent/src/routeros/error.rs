//! What can go wrong talking to a router, typed so the executor can tell "retry later"
//! from "the router refused this for good".

/// A RouterOS API failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The router refused the command (`!trap`). `category` is absent on many traps.
    #[error("router refused: {message}")]
    Trap {
        /// RouterOS trap category (0 missing item, 1 bad argument, 2 interrupted, ...).
        category: Option<u32>,
        /// The router's message, verbatim.
        message: String,
    },
    /// The router closed the connection (`!fatal`), with its reason.
    #[error("router closed the API connection: {0}")]
    Fatal(String),
    /// No answer in time.
    #[error("router did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The connection failed or is gone.
    #[error("router API connection: {0}")]
    Io(String),
    /// The router sent something that is not the RouterOS API.
    #[error("router API protocol error: {0}")]
    Protocol(String),
    /// Login was refused.
    #[error("router login refused: {0}")]
    Login(String),
    /// TLS could not be set up (bad CA or pinned certificate file, handshake failure).
    #[error("router API TLS: {0}")]
    Tls(String),
}

impl ApiError {
    /// Whether retrying the same command later could succeed: everything but a trap, and
    /// the traps that mean "interrupted" rather than "no".
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Trap { category, message } => *category == Some(2) || message.contains("interrupted"),
            _ => true,
        }
    }

    /// A trap whose message contains `text`.
    pub fn is_trap_containing(&self, text: &str) -> bool {
        matches!(self, ApiError::Trap { message, .. } if message.contains(text))
    }
}
