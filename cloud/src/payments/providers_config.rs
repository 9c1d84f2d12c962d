//! Setting a tenant's payment provider: the operation behind the CLI's `provider set` (and
//! the dashboard's, to come). The credentials are sealed at rest and the provider gets a
//! fresh callback token; the settings replaced are kept by the store, so payments still in
//! flight on them settle through them.
//!
//! Settings are sealed bound to their tenant and kind ([`seal_settings`], [`open_settings`]):
//! a sealed value copied to another tenant's row, or to another kind, does not open. Values
//! sealed before that are sealed again, bound, when the service starts ([`reseal_legacy`]).

use std::fmt;

use super::sealer::{SealError, Sealer};
use crate::model::{ProviderKind, StoredProvider, TenantId};
use crate::providers::{ProviderConfig, ProviderError};
use crate::store::{Store, StoreError, now_ms};
use crate::token::AgentToken;

/// A provider, set.
pub struct ProviderSet {
    /// The tenant.
    pub tenant: TenantId,
    /// Which provider it now uses.
    pub kind: ProviderKind,
    /// Where the provider sends this tenant's callbacks, with the fresh token (shown only
    /// now), when a new one was made; `None` when the one the tenant had for this provider
    /// was kept. Paystack's owners paste it on the Paystack dashboard; the others receive a
    /// per-payment URL with each push and need not be told.
    pub webhook_url: Option<String>,
}

impl fmt::Debug for ProviderSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL carries the callback token.
        f.debug_struct("ProviderSet").field("tenant", &self.tenant).field("kind", &self.kind).field("webhook_url", &"***").finish()
    }
}

/// Why a provider was not set.
#[derive(Debug, thiserror::Error)]
pub enum SetProviderError {
    /// The credentials could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The store refused or failed (an unknown tenant among others).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes `config` `tenant`'s one active provider: seals it with `sealer` and stores it. The
/// webhook token the tenant already has for this provider is kept (a Paystack dashboard
/// keeps working when the credentials change) unless `rotate_webhook`, or unless there is
/// none yet: then a fresh one is made and its URL under `public_url` (how providers reach
/// this cloud) returned.
pub async fn set_provider(
    store: &dyn Store,
    sealer: &Sealer,
    public_url: &str,
    tenant: TenantId,
    config: &ProviderConfig,
    rotate_webhook: bool,
) -> Result<ProviderSet, SetProviderError> {
    let kind = config.kind();
    let sealed = seal_settings(sealer, tenant, config)?;
    let keep = !rotate_webhook && store.provider_settings(tenant, kind).await?.is_some();
    if keep {
        store.set_provider(tenant, kind, &sealed, None, now_ms()).await?;
        return Ok(ProviderSet { tenant, kind, webhook_url: None });
    }
    let token = AgentToken::generate();
    store.set_provider(tenant, kind, &sealed, Some(&token.hash()), now_ms()).await?;
    Ok(ProviderSet { tenant, kind, webhook_url: Some(callback_url(public_url, kind, token.expose())) })
}

impl super::Payments {
    /// Makes `config` `tenant`'s provider with this service's sealing key and public URL
    /// (see [`set_provider`]): the dashboard's way to the same operation as the CLI's.
    pub async fn set_tenant_provider(
        &self,
        tenant: TenantId,
        config: &ProviderConfig,
        rotate_webhook: bool,
    ) -> Result<ProviderSet, SetProviderError> {
        set_provider(self.store.as_ref(), &self.sealer, &self.config.public_url, tenant, config, rotate_webhook).await
    }

    /// The API base URL in `tenant`'s stored settings of `kind`, if any: an operator's
    /// choice (a sandbox or a test double, set with the CLI's `provider set --base-url`)
    /// that the dashboard, which deliberately has no such field, keeps when the owner
    /// enters the credentials again.
    pub async fn stored_base_url(&self, tenant: TenantId, kind: ProviderKind) -> Result<Option<String>, SetProviderError> {
        stored_base_url(self.store.as_ref(), &self.sealer, tenant, kind).await
    }

    /// Checks `tenant`'s current provider's credentials with a call that moves no money
    /// ([`crate::providers::Provider::check`]): `None` without a provider; with one, its
    /// kind and the check's answer, what the provider said (`None`: this provider has no
    /// such call).
    pub async fn check_provider(
        &self,
        tenant: TenantId,
    ) -> Result<Option<(ProviderKind, Option<Result<String, ProviderError>>)>, super::PortalError> {
        let Some((kind, _)) = self.store.current_provider(tenant).await? else { return Ok(None) };
        let Some(stored) = self.store.provider_settings(tenant, kind).await? else { return Ok(None) };
        let provider = self.provider_from(&stored)?;
        Ok(Some((kind, provider.check().await)))
    }
}

/// The API base URL in `tenant`'s stored settings of `kind`, if any (see
/// [`super::Payments::stored_base_url`]).
pub async fn stored_base_url(
    store: &dyn Store,
    sealer: &Sealer,
    tenant: TenantId,
    kind: ProviderKind,
) -> Result<Option<String>, SetProviderError> {
    let Some(stored) = store.provider_settings(tenant, kind).await? else { return Ok(None) };
    Ok(open_settings(sealer, &stored)?.base_url().map(str::to_owned))
}

/// What sealed settings are bound to: their tenant and their kind.
fn associated_data(tenant: TenantId, kind: ProviderKind) -> Vec<u8> {
    format!("jasiyo provider settings v2\ntenant={tenant}\nkind={}", kind.as_str()).into_bytes()
}

/// `config` sealed for `tenant`: it opens only as `tenant`'s settings of `config.kind()`.
pub fn seal_settings(sealer: &Sealer, tenant: TenantId, config: &ProviderConfig) -> Result<String, SealError> {
    // Invariant: ProviderConfig is strings, numbers and enums with string tags, which
    // serde_json always writes.
    let plain = serde_json::to_vec(config).expect("provider settings serialise to JSON");
    sealer.seal_bound(&plain, &associated_data(tenant, config.kind()))
}

/// Opens stored settings as those of their row's tenant and kind. Settings sealed before
/// they were bound (no associated data) still open, until [`reseal_legacy`] binds them.
pub fn open_settings(sealer: &Sealer, stored: &StoredProvider) -> Result<ProviderConfig, SealError> {
    let plain = match sealer.open_legacy(&stored.sealed) {
        Some(legacy) => {
            tracing::warn!(tenant = %stored.tenant_id, kind = stored.kind.as_str(), "provider settings sealed without associated data (sealed again at the next start)");
            legacy?
        }
        None => sealer.open_bound(&stored.sealed, &associated_data(stored.tenant_id, stored.kind))?,
    };
    let config: ProviderConfig = serde_json::from_slice(&plain).map_err(|e| SealError(format!("settings unreadable: {e}")))?;
    if config.kind() != stored.kind {
        return Err(SealError(format!("settings of {} stored as {}", config.kind().as_str(), stored.kind.as_str())));
    }
    Ok(config)
}

/// Seals again, bound to their tenant and kind, every provider setting sealed before
/// settings were bound (run when the service starts). Returns how many were sealed again.
/// Settings that do not open under `sealer` are left as they are (and logged): they need
/// their key, or the owner enters them again.
pub async fn reseal_legacy(store: &dyn Store, sealer: &Sealer) -> Result<usize, StoreError> {
    let mut resealed = 0;
    for stored in store.legacy_sealed_providers().await? {
        let config = match open_settings(sealer, &stored) {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(tenant = %stored.tenant_id, kind = stored.kind.as_str(), %error, "provider settings cannot be opened to seal them again");
                continue;
            }
        };
        let Ok(sealed) = seal_settings(sealer, stored.tenant_id, &config) else { continue };
        if store.reseal_provider(stored.tenant_id, stored.kind, &stored.sealed, &sealed).await? > 0 {
            tracing::info!(tenant = %stored.tenant_id, kind = stored.kind.as_str(), "provider settings sealed again, bound to their tenant");
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// The URL a provider posts to (`POST /callbacks/{provider}/{token}`), under `public_url`.
pub fn callback_url(public_url: &str, kind: ProviderKind, token: &str) -> String {
    format!("{}/callbacks/{}/{}", public_url.trim_end_matches('/'), kind.as_str(), token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Secret;
    use crate::store::testing::{Backend, fresh_store};
    use crate::token::hash_token;

    #[tokio::test]
    async fn settings_are_sealed_and_the_webhook_url_carries_the_stored_token() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
        let tenant = store.create_tenant("Kibanda", now_ms()).await.unwrap();
        let sealer = Sealer::new([3; 32]);
        let config = ProviderConfig::Paystack { secret_key: Secret("sk_test_abc".into()), base_url: None };

        let set = set_provider(store.as_ref(), &sealer, "https://cloud.example/", tenant.id, &config, false).await.unwrap();
        assert_eq!((set.tenant, set.kind), (tenant.id, ProviderKind::Paystack));
        let url = set.webhook_url.clone().expect("a first webhook URL");
        let token = url.strip_prefix("https://cloud.example/callbacks/paystack/").expect("the callback route");
        assert!(!format!("{set:?}").contains(token), "Debug hides the token");

        let stored = store.provider_by_callback_token(&hash_token(token)).await.unwrap().expect("found by its token");
        assert_eq!((stored.tenant_id, stored.kind), (tenant.id, ProviderKind::Paystack));
        assert!(!stored.sealed.contains("sk_test_abc"));
        assert_eq!(open_settings(&sealer, &stored).unwrap(), config);

        // New credentials keep the webhook URL; --rotate-webhook replaces it.
        let renewed = ProviderConfig::Paystack { secret_key: Secret("sk_test_new".into()), base_url: None };
        let kept = set_provider(store.as_ref(), &sealer, "https://cloud.example/", tenant.id, &renewed, false).await.unwrap();
        assert_eq!(kept.webhook_url, None);
        let stored = store.provider_by_callback_token(&hash_token(token)).await.unwrap().expect("the old URL still works");
        assert_eq!(open_settings(&sealer, &stored).unwrap(), renewed, "with the new credentials");
        let rotated = set_provider(store.as_ref(), &sealer, "https://cloud.example/", tenant.id, &renewed, true).await.unwrap();
        let new_url = rotated.webhook_url.expect("a new URL");
        assert_ne!(new_url, url);
        assert!(store.provider_by_callback_token(&hash_token(token)).await.unwrap().is_none(), "the old URL is refused");

        // Away to PayHero and back: the Paystack URL made last is kept.
        let payhero = ProviderConfig::Payhero {
            username: Secret("u".into()),
            password: Secret("p".into()),
            channel_id: 1,
            channel: Default::default(),
            base_url: None,
        };
        set_provider(store.as_ref(), &sealer, "https://cloud.example/", tenant.id, &payhero, false).await.unwrap();
        let back = set_provider(store.as_ref(), &sealer, "https://cloud.example/", tenant.id, &renewed, false).await.unwrap();
        assert_eq!(back.webhook_url, None);
        let new_token = new_url.rsplit('/').next().unwrap();
        let stored = store.provider_by_callback_token(&hash_token(new_token)).await.unwrap().expect("kept across the switch");
        assert_eq!(stored.kind, ProviderKind::Paystack);
    }

    #[tokio::test]
    async fn the_stored_base_url_is_read_per_kind() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
        let tenant = store.create_tenant("Kibanda", now_ms()).await.unwrap();
        let sealer = Sealer::new([3; 32]);
        let read = async |kind| stored_base_url(store.as_ref(), &sealer, tenant.id, kind).await.unwrap();
        assert_eq!(read(ProviderKind::Paystack).await, None, "nothing stored");
        let sandbox = ProviderConfig::Paystack { secret_key: Secret("sk_test_abc".into()), base_url: None }
            .with_base_url(Some("https://sandbox.example".into()));
        set_provider(store.as_ref(), &sealer, "https://cloud.example", tenant.id, &sandbox, false).await.unwrap();
        assert_eq!(read(ProviderKind::Paystack).await.as_deref(), Some("https://sandbox.example"));
        assert_eq!(read(ProviderKind::Daraja).await, None, "another provider's settings are its own");
        let other = Sealer::new([4; 32]);
        let sealed = stored_base_url(store.as_ref(), &other, tenant.id, ProviderKind::Paystack).await;
        assert!(matches!(sealed, Err(SetProviderError::Seal(_))), "settings another key sealed do not open");
    }
}
