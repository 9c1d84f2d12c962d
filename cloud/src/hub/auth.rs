//! Router tokens: who may speak for a router (its agent, and the router itself when it
//! fetches its hotspot files). Only the token's hash is stored.

use jasiyo_shared::RouterId;

use super::Hub;
use crate::model::Router;
use crate::store::StoreError;
use crate::token::verify_token;

/// Why a router token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No such router, or the token is not its token (told apart from nothing, so a
    /// stranger learns nothing about which router ids exist).
    #[error("unknown router or wrong token")]
    WrongToken,
    /// The right token, revoked by the owner.
    #[error("token revoked")]
    Revoked,
    /// The store could not be asked.
    #[error("temporarily unavailable")]
    Unavailable(#[source] StoreError),
}

impl Hub {
    /// The router, when `token` is its current (unrevoked) token.
    pub async fn authenticate(&self, router: RouterId, token: &str) -> Result<Router, AuthError> {
        let record = self.lookups.ask(router).await.map_err(AuthError::Unavailable)?.ok_or(AuthError::WrongToken)?;
        if !verify_token(token, &record.token_hash) {
            return Err(AuthError::WrongToken);
        }
        if record.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        Ok(record)
    }
}
