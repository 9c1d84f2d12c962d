//! Provider access tokens (Daraja's OAuth) shared by every cloud instance through the
//! store, with this process's copy in front.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::providers::TokenCache;
use crate::store::Store;

/// The store as the providers' shared token cache, with this process's copy in front so a
/// push does not read the store. Another instance's new token invalidates ours at Daraja:
/// the provider then drops ours, this falls through to the store and finds the new one.
pub(super) struct StoreTokens {
    store: Arc<dyn Store>,
    /// Cache key -> (token, expiry in Unix ms).
    memory: Mutex<HashMap<String, (String, i64)>>,
}

impl StoreTokens {
    /// Over `store`, with nothing remembered yet.
    pub(super) fn new(store: Arc<dyn Store>) -> StoreTokens {
        StoreTokens { store, memory: Mutex::default() }
    }

    fn remember(&self, key: &str, token: &str, expires_at_ms: i64) {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), (token.to_string(), expires_at_ms));
    }
}

#[async_trait]
impl TokenCache for StoreTokens {
    async fn get_token(&self, key: &str, valid_until_ms: i64) -> Option<String> {
        let known = self.memory.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned();
        if let Some((token, expires_at)) = known
            && expires_at >= valid_until_ms
        {
            return Some(token);
        }
        match self.store.cached_token(key, valid_until_ms).await {
            Ok(Some((token, expires_at))) => {
                self.remember(key, &token, expires_at);
                Some(token)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "token cache read failed");
                None
            }
        }
    }

    async fn put_token(&self, key: &str, token: &str, expires_at_ms: i64) {
        self.remember(key, token, expires_at_ms);
        if let Err(e) = self.store.cache_token(key, token, expires_at_ms).await {
            tracing::warn!(error = %e, "token cache write failed");
        }
    }

    async fn drop_token(&self, key: &str, token: &str) {
        {
            let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            if memory.get(key).is_some_and(|(known, _)| known == token) {
                memory.remove(key);
            }
        }
        if let Err(e) = self.store.forget_token(key, token).await {
            tracing::warn!(error = %e, "token cache delete failed");
        }
    }

    async fn claim_refresh(&self, key: &str, holder: &str, lease_until_ms: i64) -> bool {
        match self.store.claim_token_refresh(&refresh_key(key), holder, crate::store::now_ms(), lease_until_ms).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "token refresh claim failed; fetching anyway");
                true
            }
        }
    }

    async fn release_refresh(&self, key: &str, holder: &str) {
        if let Err(e) = self.store.forget_token(&refresh_key(key), holder).await {
            tracing::warn!(error = %e, "token refresh claim release failed");
        }
    }
}

/// The cache row that records who is fetching `key`'s next token (the holder in place of a
/// token, the lease in place of an expiry).
fn refresh_key(key: &str) -> String {
    format!("{key}#refresh")
}
