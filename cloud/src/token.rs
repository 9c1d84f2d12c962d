//! Agent and operator tokens: generated once, shown once, stored only as a hash.
//!
//! Tokens are 256 random bits, so a fast hash (SHA-256) is enough: there is nothing to
//! brute-force the way there is with a password.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated agent token. `Debug` never prints it.
pub struct AgentToken(String);

impl AgentToken {
    /// 32 random bytes, hex-encoded.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// The token, to print once for the router owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(***)")
    }
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `presented` hashes to `stored_hash`, compared in constant time.
pub fn verify_token(presented: &str, stored_hash: &str) -> bool {
    let presented = hash_token(presented);
    let (a, b) = (presented.as_bytes(), stored_hash.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_its_hash_only() {
        let token = AgentToken::generate();
        assert_eq!(token.expose().len(), 64);
        assert!(verify_token(token.expose(), &token.hash()));
        assert!(!verify_token("guess", &token.hash()));
        assert!(!verify_token(token.expose(), ""));
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
