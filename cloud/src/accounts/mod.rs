//! The dashboard's people: signing up (a tenant and its owner), signing in and out,
//! sessions, passwords and one-time links (reset, staff invitation).
//!
//! - Passwords are argon2id ([`passwords`]); a session's and a link's token are 256 random
//!   bits, kept as SHA-256 hashes only, so a copy of the database opens nothing.
//! - A session is rotated at sign-in and at every password change (all the account's other
//!   sessions end), expires after [`AccountsConfig::lifetime`] and when idle longer than
//!   [`AccountsConfig::idle`].
//! - Sign-in attempts are counted per account and per client address in the shared rate
//!   counters (every instance sees them), before any password is checked.
//! - Answers never tell whether an e-mail address has an account (sign-in and reset say
//!   the same either way).

pub mod passwords;
mod service;

pub use service::{AccountError, Accounts, AccountsConfig, NewSession, SignUp};

use sha2::{Digest, Sha256};

/// The CSRF token of a session: derived from the session's token (so it changes with it
/// and need not be stored), and telling nothing about it.
pub fn csrf_token(session_token: &str) -> String {
    let digest = Sha256::digest(format!("jasiyo-csrf\0{session_token}").as_bytes());
    hex::encode(&digest[..16])
}

/// Whether `presented` is the session's CSRF token (compared in constant time).
pub fn csrf_ok(session_token: &str, presented: &str) -> bool {
    let expected = csrf_token(session_token);
    expected.len() == presented.len() && expected.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
