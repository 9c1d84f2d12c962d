//! Agent and operator tokens: generated once, shown once, stored only as a hash.
//!
//! Tokens are 256 random bits, so a fast hash (SHA-256) is enough: there is nothing to
//! brute-force the way there is with a password.
//!
//! An operator token ([`OperatorToken`]) also has an id (from its hash, safe to show and
//! log), a scope (the whole platform or one tenant) and an expiry.

use std::fmt;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::TenantId;

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

/// The credential a router's install script downloads its hotspot files with, made from its
/// agent token (HMAC-SHA256 under the token). Whoever holds the agent token can make it;
/// it does not give the agent token back, and the hub does not take it: it downloads that
/// router's hotspot files and nothing else.
pub fn download_token(agent_token: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(agent_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"jasiyo hotspot files v1");
    hex::encode(mac.finalize().into_bytes())
}

/// The id an operator token is known by: the first 16 hex digits of its hash. It names the
/// token in lists and logs and tells nothing about the token itself.
pub fn operator_token_id(token_hash: &str) -> String {
    token_hash.chars().take(16).collect()
}

/// Whose routers an operator token reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "tenant")]
pub enum OperatorScope {
    /// Every tenant's.
    Platform,
    /// This tenant's only.
    Tenant(TenantId),
}

impl OperatorScope {
    /// Whether a token of this scope may see and change `tenant`'s routers.
    pub fn reaches(self, tenant: TenantId) -> bool {
        match self {
            OperatorScope::Platform => true,
            OperatorScope::Tenant(own) => own == tenant,
        }
    }

    /// The one tenant it is limited to, if any.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            OperatorScope::Platform => None,
            OperatorScope::Tenant(tenant) => Some(tenant),
        }
    }
}

/// An operator API token as stored (never the token: only its id and hash are kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperatorToken {
    /// Its id ([`operator_token_id`]).
    pub id: String,
    /// What it is for (a label).
    pub name: String,
    /// Whose routers it reaches.
    #[serde(flatten)]
    pub scope: OperatorScope,
    /// Unix ms.
    pub created_at: i64,
    /// When it stops working (Unix ms); `None` for tokens made before expiries existed.
    pub expires_at: Option<i64>,
    /// When it was revoked (Unix ms).
    pub revoked_at: Option<i64>,
}

impl OperatorToken {
    /// Whether it still works at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now_ms)
    }
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

    #[test]
    fn a_download_token_is_made_from_the_agent_token_but_is_not_it() {
        let token = AgentToken::generate();
        let download = download_token(token.expose());
        assert_eq!(download, download_token(token.expose()), "the same every time");
        assert_ne!(download, token.expose());
        assert_ne!(download, download_token(AgentToken::generate().expose()));
        assert!(!verify_token(&download, &token.hash()), "it is not the agent token");
    }

    #[test]
    fn an_operator_token_works_in_its_scope_until_it_expires_or_is_revoked() {
        let (a, b) = (TenantId(uuid::Uuid::new_v4()), TenantId(uuid::Uuid::new_v4()));
        assert!(OperatorScope::Platform.reaches(a) && OperatorScope::Platform.reaches(b));
        assert!(OperatorScope::Tenant(a).reaches(a) && !OperatorScope::Tenant(a).reaches(b));
        let mut token = OperatorToken {
            id: operator_token_id(&hash_token("t")),
            name: "n".into(),
            scope: OperatorScope::Tenant(a),
            created_at: 0,
            expires_at: Some(1_000),
            revoked_at: None,
        };
        assert_eq!(token.id.len(), 16);
        assert!(token.is_active(999) && !token.is_active(1_000));
        token.revoked_at = Some(10);
        assert!(!token.is_active(5));
    }
}
